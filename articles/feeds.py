"""RSS 2.0 and Atom feeds of the newest articles: the site, each topic, each person,
each author.

Every link is absolute and built from SITE_URL. Django's syndication framework
only puts the request's host in front of relative links, so absolute ones keep
a spoofed Host header out of the feeds.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.utils.html import escape, format_html, linebreaks
from django.utils.safestring import mark_safe

from articles import metadata
from articles.bylines import Author, authors_of, bylines_prefetch
from articles.delivery import keys
from articles.models import Article, Correction, Person, Topic
from articles.templatetags.story_body import render_body, resolve_bodies

ITEMS_PER_FEED = 30

# XML 1.0 forbids these; Django refuses to write them rather than emit bad XML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text):
    """Text with the characters XML cannot carry removed (imports may hold them)."""
    return _NOT_XML.sub("", text)


def site_url(path):
    return settings.SITE_URL + path


MEDIA_RSS = "http://search.yahoo.com/mrss/"


class MediaRssMixin:
    """Media RSS: each story's photo as <media:content>, the 1200×630 JPEG.

    Preferred to <enclosure>, which must state the file's length: a storage
    look-up per item and per request (on S3, a request to the bucket).
    """

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:media": MEDIA_RSS}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        image = item.get("image")
        if image is None:
            return
        handler.startElement(
            "media:content",
            {
                "url": image.url,
                "type": image.content_type,
                "medium": "image",
                "width": str(image.width),
                "height": str(image.height),
            },
        )
        if image.description:
            handler.addQuickElement("media:description", image.description)
        if image.credit:
            handler.addQuickElement("media:credit", image.credit)
        handler.endElement("media:content")


DUBLIN_CORE = "http://purl.org/dc/elements/1.1/"


class RssBylineMixin:
    """Each author of a story as its own <dc:creator>, in byline order (RSS's
    <author> must hold an email address, which we do not publish)."""

    def root_attributes(self):
        return {**super().root_attributes(), "xmlns:dc": DUBLIN_CORE}

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        for name, _url in item.get("authors") or []:
            handler.addQuickElement("dc:creator", name)


class AtomBylineMixin:
    """Each author of a story as its own <author> with <name> and <uri>; a story
    with none takes the feed's author, the publication."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        for name, url in item.get("authors") or []:
            handler.startElement("author", {})
            handler.addQuickElement("name", name)
            handler.addQuickElement("uri", url)
            handler.endElement("author")


class RssWithMedia(RssBylineMixin, MediaRssMixin, Rss201rev2Feed):
    pass


class AtomWithContent(AtomBylineMixin, MediaRssMixin, Atom1Feed):
    """Atom with the full story in <content>; the standfirst is the <summary>."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


@dataclass(frozen=True)
class FeedImage:
    url: str
    content_type: str
    width: int
    height: int
    description: str
    credit: str


def feed_image(article):
    """The story's social rendition, with what feed readers show beside it."""
    social = metadata.social_image(article)
    if social is None:
        return None
    return FeedImage(
        url=social.absolute_url,
        content_type=social.content_type,
        width=social.width,
        height=social.height,
        description=xml_text(article.photo_caption or article.lead_image.alt_text),
        credit=xml_text(article.photo_credit),
    )


class LatestArticlesFeed(Feed):
    """The newest published articles of the whole site, each with its full story."""

    feed_type = RssWithMedia
    url_name = "articles:feed_rss"

    def articles(self, obj):
        return Article.objects.published()

    def url_kwargs(self, obj):
        return {}

    def title(self, obj):
        return settings.SITE_NAME

    def description(self, obj):
        return f"The latest news from {settings.SITE_NAME}."

    def subtitle(self, obj):
        # Atom's name for the description; RSS leaves it out.
        return self.description(obj)

    def link(self, obj):
        return site_url(reverse("articles:home"))

    def feed_url(self, obj):
        return site_url(reverse(self.url_name, kwargs=self.url_kwargs(obj)))

    def author_name(self, obj):
        # Atom wants an author for the feed; the publication is it.
        return settings.SITE_NAME

    def items(self, obj):
        articles = list(
            self.articles(obj)
            .select_related("lead_image")
            .prefetch_related("tags", "corrections", bylines_prefetch())[
                :ITEMS_PER_FEED
            ]
        )
        # The story links and photos of every body, in two queries.
        resolve_bodies(articles, absolute=True)
        return articles

    def item_title(self, article):
        return xml_text(article.headline)

    def item_link(self, article):
        return site_url(article.get_absolute_url())

    def item_description(self, article):
        return full_story_html(article)

    def item_pubdate(self, article):
        return article.published_at

    def item_updateddate(self, article):
        return article.modified_at

    def item_categories(self, article):
        return [xml_text(topic.name) for topic in article.tags.all()]

    def item_extra_kwargs(self, article):
        return {"image": feed_image(article), "authors": feed_authors(article)}

    def __call__(self, request, *args, **kwargs):
        # Every feed shows whole stories, their topics, bylines and photos:
        # the feeds key moves with each of them (articles/delivery/changes.py).
        keys.record(request, keys.FEEDS)
        return super().__call__(request, *args, **kwargs)


class LatestArticlesAtomFeed(LatestArticlesFeed):
    feed_type = AtomWithContent
    url_name = "articles:feed_atom"

    def item_description(self, article):
        return escape(xml_text(article.standfirst)) if article.standfirst else None

    def item_extra_kwargs(self, article):
        return {
            **super().item_extra_kwargs(article),
            "content": full_story_html(article),
        }


class ScopedFeed(LatestArticlesFeed):
    """The newest articles of one topic or one person, found by slug."""

    model = None
    article_filter = None  # how an Article names the object: "tags", "people"

    def get_object(self, request, slug):
        obj = get_object_or_404(self.model, slug=slug)
        # Like the topic's or person's page, a 404 until something is published.
        if not self.articles(obj).exists():
            raise Http404("Nothing has been published here yet.")
        return obj

    def articles(self, obj):
        return Article.objects.published().filter(**{self.article_filter: obj})

    def url_kwargs(self, obj):
        return {"slug": obj.slug}

    def title(self, obj):
        return xml_text(f"{obj} | {settings.SITE_NAME}")

    def description(self, obj):
        return xml_text(f"The latest on {obj}.")

    def link(self, obj):
        return site_url(obj.get_absolute_url())


class TopicFeed(ScopedFeed):
    url_name = "articles:topic_feed_rss"
    model = Topic
    article_filter = "tags"

    def description(self, topic):
        return xml_text(topic.description) or super().description(topic)


class TopicAtomFeed(TopicFeed, LatestArticlesAtomFeed):
    url_name = "articles:topic_feed_atom"


class PersonFeed(ScopedFeed):
    url_name = "articles:person_feed_rss"
    model = Person
    article_filter = "people"


class PersonAtomFeed(PersonFeed, LatestArticlesAtomFeed):
    url_name = "articles:person_feed_atom"


class AuthorFeed(ScopedFeed):
    url_name = "articles:author_feed_rss"
    model = Author
    article_filter = "bylines__author"

    def get_object(self, request, slug):
        # Like the author's page, a 404 until they have a published story.
        return get_object_or_404(Author.objects.with_published_stories(), slug=slug)

    def title(self, author):
        return xml_text(f"Stories by {author} | {settings.SITE_NAME}")

    def description(self, author):
        return xml_text(f"The latest stories by {author}.")


class AuthorAtomFeed(AuthorFeed, LatestArticlesAtomFeed):
    url_name = "articles:author_feed_atom"


class CorrectionsFeed(LatestArticlesFeed):
    """The newest corrections and clarifications, each linking to its box on
    the article page."""

    url_name = "articles:corrections_feed_rss"

    def corrections(self):
        return Correction.objects.published().select_related("article")

    def title(self, obj):
        return xml_text(f"Corrections and clarifications | {settings.SITE_NAME}")

    def description(self, obj):
        return (
            f"Every correction and clarification to stories from {settings.SITE_NAME}."
        )

    def link(self, obj):
        return site_url(reverse("articles:corrections"))

    def items(self, obj):
        return self.corrections().order_by("-published_at", "-id")[:ITEMS_PER_FEED]

    def item_title(self, correction):
        return xml_text(f"{correction.get_kind_display()}: {correction.article}")

    def item_link(self, correction):
        return site_url(correction.get_absolute_url())

    def item_description(self, correction):
        return linebreaks(xml_text(correction.text), autoescape=True)

    def item_pubdate(self, correction):
        return correction.published_at

    def item_updateddate(self, correction):
        return correction.published_at

    def item_categories(self, correction):
        return [correction.get_kind_display()]

    def item_extra_kwargs(self, correction):
        return {}


class CorrectionsAtomFeed(CorrectionsFeed):
    feed_type = Atom1Feed
    url_name = "articles:corrections_feed_atom"


def feed_authors(article):
    """(name, absolute address) of each author, in byline order."""
    return [
        (xml_text(author.name), site_url(author.get_absolute_url()))
        for author in authors_of(article)
    ]


def full_story_html(article):
    """The standfirst as a paragraph, then the body: links and photos absolute."""
    standfirst = (
        format_html("<p>{}</p>\n", article.standfirst) if article.standfirst else ""
    )
    return mark_safe(xml_text(standfirst + render_body(article, for_feed=True)))


site_rss = LatestArticlesFeed()
site_atom = LatestArticlesAtomFeed()
topic_rss = TopicFeed()
topic_atom = TopicAtomFeed()
person_rss = PersonFeed()
person_atom = PersonAtomFeed()
author_rss = AuthorFeed()
author_atom = AuthorAtomFeed()
corrections_rss = CorrectionsFeed()
corrections_atom = CorrectionsAtomFeed()
