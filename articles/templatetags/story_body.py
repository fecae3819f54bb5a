"""A story's body as readers get it: story links and inline photos resolved.

    {% load story_body %}{% story_body article %}

Whatever a body holds, the page runs at most two queries for it: one for the
stories it links to (only published ones get a link; the others become text)
and one for its photos.
"""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from articles import metadata, renditions, richtext
from articles.models import Article, Image

register = template.Library()

# The width an inline photo is shown at: the body's measure (static/css/site.css).
INLINE_SIZES = "(min-width: 38rem) 38rem, 100vw"
# The largest JPEG a feed entry shows: feed readers take one <img>.
FEED_PHOTO_WIDTH = 800


def story_urls(story_ids, absolute=False):
    """Id -> address of the linked stories readers may see, in one query."""
    if not story_ids:
        return {}
    stories = Article.objects.published().filter(pk__in=story_ids).only("slug")
    address = metadata.absolute_url if absolute else str
    return {story.pk: address(story.get_absolute_url()) for story in stories}


def inline_images(image_ids):
    return Image.objects.in_bulk(image_ids) if image_ids else {}


def render_body(body, *, for_feed=False):
    """The body's HTML for the page, or with absolute addresses for a feed."""
    parsed = richtext.parse(body)
    images = inline_images(parsed.image_ids)
    template_name = (
        "includes/feed_figure.html" if for_feed else "includes/inline_figure.html"
    )

    def figure_html(image_id):
        image = images.get(image_id)
        if image is None:
            return ""
        context = {"image": image, "sizes": INLINE_SIZES}
        if for_feed:
            jpegs = renditions.renditions(image, "full", "jpeg")
            context["photo"] = next(
                (r for r in reversed(jpegs) if r.width <= FEED_PHOTO_WIDTH), jpegs[0]
            )
        return render_to_string(template_name, context)

    html = richtext.render(
        parsed, story_urls(parsed.story_ids, absolute=for_feed), figure_html
    )
    # Every text and attribute was escaped by render(), every figure by its
    # template.
    return mark_safe(html)


@register.simple_tag
def story_body(article):
    return render_body(article.body)
