"""Scheduled articles go live at their minute: no cron, no worker, no cache clear."""

from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import time_machine
from django.utils import timezone
from django.utils.http import http_date

from articles.models import Article
from articles.scheduling import limit_cache_control, page_lifetime, seconds_until
from tests.conftest import make_article, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def going_live():
    """A story scheduled for the next whole hour, beside one already live."""
    # Later than the templates' files, which Last-Modified also accounts for.
    at = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    person = make_person(slug="ada")
    live = make_article(slug="live", published_at=at - timedelta(days=1))
    scheduled = make_article(slug="scheduled", published_at=at)
    for article in (live, scheduled):
        article.tags.add("Climate")
        article.people.add(person)
    scheduled.corrections.create(text="Fixed before it went out.")
    return scheduled


LISTS = [
    "/",
    "/tags/climate/",
    "/people/ada/",
    "/feeds/rss/",
    "/feeds/atom/",
    "/tags/climate/feed/rss/",
    "/people/ada/feed/atom/",
    "/sitemap-articles.xml",
    "/sitemap-news.xml",
    "/corrections/",
    "/corrections/feed/rss/",
]


def shows_the_story(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.content.decode()
    return "/articles/scheduled/" in text or "Fixed before it went out" in text


def test_scheduled_article_is_404_before_its_minute_and_200_from_it(client, going_live):
    moment = going_live.published_at
    with time_machine.travel(moment - timedelta(seconds=30), tick=False):
        assert client.get("/articles/scheduled/").status_code == 404
        assert [url for url in LISTS if shows_the_story(client, url)] == []

    # The same client and whatever caches the site keeps; nothing is cleared.
    with time_machine.travel(moment, tick=False):
        assert client.get("/articles/scheduled/").status_code == 200
        assert [url for url in LISTS if not shows_the_story(client, url)] == []

    with time_machine.travel(moment + timedelta(seconds=30), tick=False):
        assert client.get("/articles/scheduled/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/tags/climate/",
        "/people/ada/",
        "/feeds/rss/",
        "/feeds/atom/",
        "/tags/climate/feed/atom/",
        "/people/ada/feed/rss/",
        "/corrections/",
        "/corrections/feed/atom/",
    ],
)
def test_lists_and_feeds_are_modified_when_the_story_goes_live(client, going_live, url):
    moment = going_live.published_at
    with time_machine.travel(moment - timedelta(minutes=1), tick=False):
        before = client.get(url)
    assert before.status_code == 200
    assert before["Last-Modified"] != http_date(moment.timestamp())

    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        after = client.get(
            url,
            headers={
                "if-none-match": before["ETag"],
                "if-modified-since": before["Last-Modified"],
            },
        )
    assert after.status_code == 200
    assert after["Last-Modified"] == http_date(moment.timestamp())
    assert after["ETag"] != before["ETag"]


def test_sitemap_index_is_modified_when_the_story_goes_live(client, going_live):
    moment = going_live.published_at
    lastmod = f"<lastmod>{moment.isoformat()}</lastmod>"
    with time_machine.travel(moment - timedelta(minutes=1), tick=False):
        assert lastmod not in client.get("/sitemap.xml").content.decode()
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        assert lastmod in client.get("/sitemap.xml").content.decode()


def test_feed_entry_of_a_story_gone_live_is_dated_at_its_minute(client, going_live):
    with time_machine.travel(going_live.published_at, tick=False):
        feed = feedparser.parse(client.get("/feeds/atom/").content)
    entry = feed.entries[0]
    assert entry.link.endswith("/articles/scheduled/")
    published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
    assert published == going_live.published_at


# When the next story goes live: what caches must not outlive


def test_next_publication_is_the_soonest_scheduled_article():
    now = timezone.now()
    assert Article.objects.next_publication_at() is None
    make_article(published_at=now - timedelta(minutes=1))
    make_article(status=Article.Status.DRAFT, published_at=now + timedelta(minutes=5))
    assert Article.objects.next_publication_at() is None

    soonest = make_article(published_at=now + timedelta(minutes=10))
    make_article(published_at=now + timedelta(hours=1))

    assert Article.objects.next_publication_at() == soonest.published_at
    with time_machine.travel(soonest.published_at, tick=False):
        later = Article.objects.next_publication_at()
    assert later == now + timedelta(hours=1)


NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
HEADER = "public, max-age=30, s-maxage=60, stale-while-revalidate=30"


@pytest.mark.parametrize(
    ("seconds_left", "limited"),
    [
        (None, HEADER),
        (3600, HEADER),
        (90, HEADER),
        (75, "public, max-age=30, s-maxage=60, stale-while-revalidate=15"),
        (45, "public, max-age=30, s-maxage=45, stale-while-revalidate=0"),
        (10, "public, max-age=10, s-maxage=10, stale-while-revalidate=0"),
        (0, "public, max-age=0, s-maxage=0, stale-while-revalidate=0"),
        (-5, "public, max-age=0, s-maxage=0, stale-while-revalidate=0"),
    ],
)
def test_cache_control_lifetimes_end_by_the_next_publication(seconds_left, limited):
    next_publication = (
        None if seconds_left is None else NOW + timedelta(seconds=seconds_left)
    )
    assert limit_cache_control(HEADER, next_publication, now=NOW) == limited


def test_cache_control_limit_keeps_other_directives_and_fractions_round_down():
    header = "private, no-transform, stale-if-error=600, max-age=300"
    soon = NOW + timedelta(seconds=20, milliseconds=900)
    assert limit_cache_control(header, soon, now=NOW) == (
        "private, no-transform, stale-if-error=600, max-age=20"
    )
    assert limit_cache_control("no-store", soon, now=NOW) == "no-store"


def test_page_cache_timeout_ends_by_the_next_publication():
    assert page_lifetime(600, None, now=NOW) == 600
    assert page_lifetime(600, NOW + timedelta(minutes=20), now=NOW) == 600
    assert page_lifetime(600, NOW + timedelta(seconds=42), now=NOW) == 42
    assert page_lifetime(600, NOW - timedelta(seconds=1), now=NOW) == 0
    assert seconds_until(None) is None
