"""A story's body as readers get it: story links and inline photos resolved.

    {% load story_body %}{% story_body article %}

However many links and photos a body holds, reading it runs at most two
queries: one for the stories it links to (only published ones get a link; the
others become text) and one for its photos. A list of bodies (a feed) resolves
them all in the same two with `resolve_bodies()`.
"""

from dataclasses import dataclass

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


@dataclass
class ResolvedBody:
    parsed: richtext.ParsedBody
    story_urls: dict  # id -> address of each linked story readers may see
    images: dict  # id -> Image


def resolve_bodies(articles, *, absolute=False):
    """Read the bodies of `articles` and look up what they refer to, in one
    query for stories and one for photos; each article keeps its result."""
    parsed = {article.pk: richtext.parse(article.body) for article in articles}
    story_ids = {pk for body in parsed.values() for pk in body.story_ids}
    image_ids = {pk for body in parsed.values() for pk in body.image_ids}
    urls = _story_urls(story_ids, absolute) if story_ids else {}
    images = Image.objects.in_bulk(image_ids) if image_ids else {}
    for article in articles:
        article.resolved_body = ResolvedBody(parsed[article.pk], urls, images)


def _story_urls(story_ids, absolute):
    stories = Article.objects.published().filter(pk__in=story_ids).only("slug")
    address = metadata.absolute_url if absolute else str
    return {story.pk: address(story.get_absolute_url()) for story in stories}


def render_body(article, *, for_feed=False):
    """The body's HTML for the page, or with absolute addresses for a feed."""
    if getattr(article, "resolved_body", None) is None:
        resolve_bodies([article], absolute=for_feed)
    resolved = article.resolved_body

    def figure_html(image_id):
        image = resolved.images.get(image_id)
        if image is None:
            return ""
        if not for_feed:
            return render_to_string(
                "includes/inline_figure.html", {"image": image, "sizes": INLINE_SIZES}
            )
        photo = renditions.best(image, "full", "jpeg", max_width=FEED_PHOTO_WIDTH)
        return render_to_string(
            "includes/feed_figure.html", {"image": image, "photo": photo}
        )

    html = richtext.render(resolved.parsed, resolved.story_urls, figure_html)
    # render() escaped every text and attribute; the figures' templates theirs.
    return mark_safe(html)


@register.simple_tag
def story_body(article):
    return render_body(article)
