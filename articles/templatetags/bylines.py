"""The byline under a headline: "By A", "By A and B", "By A, B and C".

    {% load bylines %}{% byline article %}

Reads article.bylines prefetched with articles.bylines.bylines_prefetch(); draws
nothing for a story with no author.
"""

from django import template

from articles.bylines import authors_of

register = template.Library()


@register.inclusion_tag("includes/byline.html")
def byline(article, css_class="byline"):
    return {"authors": authors_of(article), "css_class": css_class}
