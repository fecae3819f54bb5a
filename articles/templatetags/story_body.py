"""A story's body as readers get it: story links and inline photos resolved.

    {% load story_body %}{% story_body article %}

However many links and photos a body holds, reading it runs at most one
query, for the stories it links to (only published ones get a link; the
others become text) and its photos together. A list of bodies (a feed)
resolves them all in the same one with `resolve_bodies()`; a page that has
other things to fetch fetches them in that query too (`BodyReferences`).
"""

from dataclasses import dataclass

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from articles import metadata, renditions, richtext
from articles.models import Article, Image
from articles.together import fetch_together

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


class BodyReferences:
    """The stories and photos the bodies of articles refer to: `querysets` to
    fetch (alone, or together with a page's other parts: articles/together.py),
    then `resolve()` with what they found."""

    def __init__(self, articles, *, absolute=False):
        self.articles = list(articles)
        self.absolute = absolute
        self.parsed = {
            article.pk: richtext.parse(article.body) for article in self.articles
        }
        story_ids = {pk for body in self.parsed.values() for pk in body.story_ids}
        image_ids = {pk for body in self.parsed.values() for pk in body.image_ids}
        self.querysets = {}
        if story_ids:
            # A link shows only the story's address: no body, no headline.
            self.querysets[LINKED_STORIES] = (
                Article.objects.published().filter(pk__in=story_ids).only("slug")
            )
        if image_ids:
            self.querysets[INLINE_PHOTOS] = Image.objects.filter(pk__in=image_ids)

    def resolve(self, found):
        """Give each article its resolved body, from found: {name: instances}
        for the names of `querysets` (more names are ignored)."""
        address = metadata.absolute_url if self.absolute else str
        urls = {
            story.pk: address(story.get_absolute_url())
            for story in found.get(LINKED_STORIES, ())
        }
        images = {image.pk: image for image in found.get(INLINE_PHOTOS, ())}
        for article in self.articles:
            article.resolved_body = ResolvedBody(self.parsed[article.pk], urls, images)


# The names BodyReferences fetches by: unlike any a page fetches beside them.
LINKED_STORIES = "body_linked_stories"
INLINE_PHOTOS = "body_inline_photos"


def resolve_bodies(articles, *, absolute=False):
    """Read the bodies of `articles` and look up what they refer to, in one
    query; each article keeps its result."""
    references = BodyReferences(articles, absolute=absolute)
    references.resolve(fetch_together(references.querysets))


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
