"""Sitemaps: an index of articles, topics, people and authors, and a Google News
sitemap.

Locations come from SITE_URL, never from the request's host or scheme.
Everything reads through `Article.objects.published()`; topics, people and
authors are listed only once they have a published article.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import SitemapIndexItem, sitemap, x_robots_tag
from django.db.models import Max, Prefetch
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from articles import metadata
from articles.bylines import Author
from articles.delivery import keys
from articles.feeds import site_url, xml_text
from articles.models import Article, Correction, Person, Topic


class SiteUrlSitemap(Sitemap):
    """A sitemap whose locations start with SITE_URL."""

    def get_protocol(self, protocol=None):
        return settings.SITE_URL.partition("://")[0]

    def get_domain(self, site=None):
        return settings.SITE_URL.partition("://")[2]


class ArticleSitemap(SiteUrlSitemap):
    def items(self):
        times = Correction.objects.only("article_id", "published_at")
        return (
            Article.objects.published()
            .only("slug", "published_at", "content_updated_at")
            .prefetch_related(Prefetch("corrections", queryset=times))
        )

    def lastmod(self, article):
        return article.modified_at

    def get_latest_lastmod(self):
        return Article.objects.published().last_modified_at()


class TopicSitemap(SiteUrlSitemap):
    def items(self):
        # Filtering before annotating makes Max() see published articles only.
        return (
            Topic.objects.filter(
                tagged_articles__content_object__in=Article.objects.published()
            )
            .annotate(latest=Max("tagged_articles__content_object__published_at"))
            .order_by("name")
        )

    def lastmod(self, topic):
        return topic.latest


class PersonSitemap(SiteUrlSitemap):
    def items(self):
        return (
            Person.objects.filter(articles__in=Article.objects.published())
            .annotate(latest=Max("articles__published_at"))
            .order_by("name")
        )

    def lastmod(self, person):
        return max(person.latest, person.updated_at)


class AuthorSitemap(SiteUrlSitemap):
    def items(self):
        return (
            Author.objects.filter(bylines__article__in=Article.objects.published())
            .annotate(latest=Max("bylines__article__published_at"))
            .order_by("name")
        )

    def lastmod(self, author):
        return max(author.latest, author.updated_at)


class NewsSitemap(SiteUrlSitemap):
    """Google News: the articles published in the last 48 hours."""

    limit = 1000  # the most Google News reads from one sitemap
    window = timedelta(hours=48)

    def items(self):
        return (
            Article.objects.published()
            .filter(published_at__gte=timezone.now() - self.window)
            .select_related("lead_image")
            .only("slug", "headline", "published_at", "lead_image")
        )

    def get_urls(self, page=1, site=None, protocol=None):
        urls = super().get_urls(page, site, protocol)
        for url in urls:
            url["title"] = xml_text(url["item"].headline)
            url["language"] = news_language()
            social = metadata.social_image(url["item"])
            url["image"] = social.absolute_url if social else None
        return urls


def news_language():
    """The ISO 639 code Google News wants: "en" for en-gb, but zh-cn stays."""
    code = settings.LANGUAGE_CODE.lower()
    return code if code in {"zh-cn", "zh-tw"} else code.split("-")[0]


SECTIONS = {
    "articles": ArticleSitemap,
    "topics": TopicSitemap,
    "people": PersonSitemap,
    "authors": AuthorSitemap,
}


@keys.shows(keys.SITEMAPS)
@x_robots_tag
def index(request):
    """/sitemap.xml: one entry per section (and per page of a long section)."""
    entries = []
    for section, sitemap_class in SECTIONS.items():
        sitemap = sitemap_class()
        location = site_url(reverse("sitemap_section", kwargs={"section": section}))
        lastmod = sitemap.get_latest_lastmod()
        entries.append(SitemapIndexItem(location, lastmod))
        for page in range(2, sitemap.paginator.num_pages + 1):
            entries.append(SitemapIndexItem(f"{location}?p={page}", lastmod))
    return TemplateResponse(
        request,
        "sitemap_index.xml",
        {"sitemaps": entries},
        content_type="application/xml",
    )


# Django's view for one sitemap (a section, the news sitemap).
section = keys.shows(keys.SITEMAPS)(sitemap)
