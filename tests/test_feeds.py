from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from articles.feeds import ITEMS_PER_FEED
from articles.models import Article, Topic
from tests.conftest import make_article, make_person

# What the views do themselves; the page cache in front is tests/test_cache.py's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]

SITE = "https://news.example.org"
FEED_TYPES = ["rss", "atom"]


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = SITE
    return SITE


@pytest.fixture
def newsroom():
    """Published, draft and scheduled articles across one topic and one person.

    Made at one frozen moment: a feed's Last-Modified is when what it shows last
    changed, and linking a story to the topic and person changes their feeds
    after the story's own save; frozen, both fall in the same second, so the
    feed's Last-Modified is its newest story's time.
    """
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        person = make_person(name="Ada Lovelace", slug="ada-lovelace")
        stories = {
            "older": make_article(slug="older", published_at=now - timedelta(days=2)),
            "newer": make_article(slug="newer", published_at=now - timedelta(hours=1)),
            "draft": make_article(slug="draft", status=Article.Status.DRAFT),
            "scheduled": make_article(
                slug="scheduled", published_at=now + timedelta(1)
            ),
            "other": make_article(slug="other", published_at=now - timedelta(hours=3)),
        }
        for name in ("older", "newer", "draft", "scheduled"):
            stories[name].tags.add("Climate")
            stories[name].people.add(person)
    return stories


def feed_url(scope, feed_type):
    if scope == "site":
        return reverse(f"articles:feed_{feed_type}")
    slug = {"topic": "climate", "person": "ada-lovelace"}[scope]
    return reverse(f"articles:{scope}_feed_{feed_type}", kwargs={"slug": slug})


def parse(response):
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


def slugs(feed):
    return [entry.link.rstrip("/").rsplit("/", 1)[-1] for entry in feed.entries]


@pytest.mark.parametrize("feed_type", FEED_TYPES)
@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("site", ["newer", "other", "older"]),
        ("topic", ["newer", "older"]),
        ("person", ["newer", "older"]),
    ],
)
def test_feed_lists_published_articles_of_its_scope_newest_first(
    client, newsroom, scope, expected, feed_type
):
    feed = parse(client.get(feed_url(scope, feed_type)))

    assert slugs(feed) == expected
    assert feed.version == {"rss": "rss20", "atom": "atom10"}[feed_type]


@pytest.mark.parametrize("feed_type", FEED_TYPES)
def test_feed_items_carry_full_story_dates_and_topics(client, site_url, feed_type):
    published = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    article = make_article(
        slug="full",
        headline="Tea & <biscuits>",
        standfirst="A summary with <b>markup</b>.",
        body="First paragraph.\n\nSecond & last paragraph.",
        published_at=published,
    )
    article.tags.add("Food", "Britain")

    feed = parse(client.get(feed_url("site", feed_type)))

    (entry,) = feed.entries
    assert entry.title == "Tea & <biscuits>"
    assert entry.link == f"{SITE}/articles/full/"
    story = entry.content[0].value if feed_type == "atom" else entry.description
    assert story == (
        "<p>A summary with &lt;b&gt;markup&lt;/b&gt;.</p>\n"
        "<p>First paragraph.</p>\n<p>Second &amp; last paragraph.</p>"
    )
    assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == published
    if feed_type == "atom":  # RSS 2.0 has no update time
        assert entry.updated_parsed >= entry.published_parsed
    assert sorted(tag.term for tag in entry.tags) == ["Britain", "Food"]


def test_atom_summary_is_the_standfirst(client):
    make_article(standfirst="Just the summary.")

    feed = parse(client.get(feed_url("site", "atom")))

    assert feed.entries[0].summary == "Just the summary."


@pytest.mark.parametrize("feed_type", FEED_TYPES)
def test_feed_holds_at_most_the_newest_articles(client, feed_type):
    for _ in range(ITEMS_PER_FEED + 5):
        make_article()

    assert len(parse(client.get(feed_url("site", feed_type))).entries) == (
        ITEMS_PER_FEED
    )


@pytest.mark.parametrize("feed_type", FEED_TYPES)
@pytest.mark.parametrize("scope", ["site", "topic", "person"])
def test_feed_urls_come_from_site_url_not_the_host_header(
    client, newsroom, site_url, settings, scope, feed_type
):
    settings.ALLOWED_HOSTS = ["evil.example.com"]

    response = client.get(
        feed_url(scope, feed_type), HTTP_HOST="evil.example.com", secure=True
    )

    feed = parse(response)
    assert "evil.example.com" not in response.content.decode()
    assert feed.feed.link.startswith(f"{SITE}/")
    assert all(entry.link.startswith(f"{SITE}/articles/") for entry in feed.entries)
    assert all(entry.id.startswith(f"{SITE}/") for entry in feed.entries)


@pytest.mark.parametrize("feed_type", FEED_TYPES)
def test_control_characters_in_stories_do_not_break_the_feed(client, feed_type):
    article = make_article(headline="Bell\x07 rings", body="Form\x0cfeed")
    article.tags.add("Odd\x0btopic")

    feed = parse(client.get(feed_url("site", feed_type)))

    assert feed.entries[0].title == "Bell rings"


@pytest.mark.parametrize(
    "url",
    [
        reverse("articles:topic_feed_rss", kwargs={"slug": "no-such-topic"}),
        reverse("articles:person_feed_atom", kwargs={"slug": "no-such-person"}),
    ],
)
def test_feed_of_unknown_topic_or_person_is_404(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("feed_type", FEED_TYPES)
@pytest.mark.parametrize("scope", ["topic", "person"])
def test_feed_of_topic_or_person_with_nothing_published_is_404_like_its_page(
    client, scope, feed_type
):
    person = make_person(name="Ada Lovelace", slug="ada-lovelace")
    draft = make_article(status=Article.Status.DRAFT)
    scheduled = make_article(published_at=timezone.now() + timedelta(1))
    for article in (draft, scheduled):
        article.tags.add("Climate")
        article.people.add(person)
    slug = {"topic": "climate", "person": "ada-lovelace"}[scope]

    page = client.get(reverse(f"articles:{scope}", kwargs={"slug": slug}))
    assert page.status_code == 404
    assert client.get(feed_url(scope, feed_type)).status_code == 404

    Article.objects.filter(pk=draft.pk).update(status=Article.Status.PUBLISHED)
    assert parse(client.get(feed_url(scope, feed_type))).entries


def test_topic_feed_is_titled_after_the_topic(client, newsroom):
    Topic.objects.filter(slug="climate").update(description="Our planet.")

    feed = parse(client.get(feed_url("topic", "atom")))

    assert feed.feed.title.startswith("Climate")
    assert feed.feed.subtitle == "Our planet."


# Conditional requests


@pytest.mark.parametrize("feed_type", FEED_TYPES)
@pytest.mark.parametrize("scope", ["site", "topic", "person"])
def test_feed_answers_conditional_requests_with_304(client, newsroom, scope, feed_type):
    url = feed_url(scope, feed_type)
    first = client.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    in_feed = Article.objects.filter(slug__in=slugs(parse(first)))
    latest = max(max(a.updated_at, a.published_at) for a in in_feed)
    assert last_modified == http_date(latest.timestamp())

    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_editing_an_article_changes_the_feed_version(client, newsroom):
    url = feed_url("site", "rss")
    etag = client.get(url).headers["ETag"]

    newsroom["older"].body = "Corrected."
    newsroom["older"].save()

    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert response.headers["ETag"] != etag


def test_unpublishing_an_article_changes_the_feed_version(client, newsroom):
    url = feed_url("topic", "atom")
    etag = client.get(url).headers["ETag"]

    Article.objects.filter(slug="older").update(status=Article.Status.DRAFT)

    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert slugs(parse(response)) == ["newer"]


def test_a_scheduled_article_going_live_changes_the_feed_version(client, newsroom):
    url = feed_url("site", "rss")
    etag = client.get(url).headers["ETag"]

    Article.objects.filter(slug="scheduled").update(published_at=timezone.now())

    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert slugs(parse(response))[0] == "scheduled"


# Pages announce their feeds


def alternate_links(html):
    head = html[: html.index("</head>")]
    return [line.strip() for line in head.splitlines() if 'rel="alternate"' in line]


def test_every_page_announces_the_site_feeds(client, site_url):
    links = alternate_links(client.get(reverse("articles:home")).content.decode())

    assert links == [
        '<link rel="alternate" type="application/rss+xml" title="Newsroom (RSS)" '
        f'href="{SITE}/feeds/rss/">',
        '<link rel="alternate" type="application/atom+xml" title="Newsroom (Atom)" '
        f'href="{SITE}/feeds/atom/">',
    ]


@pytest.mark.parametrize(
    ("url", "title", "feed_path"),
    [
        ("/tags/climate/", "Climate", "/tags/climate/feed/"),
        ("/people/ada-lovelace/", "Ada Lovelace", "/people/ada-lovelace/feed/"),
    ],
)
@override_settings(SITE_URL=SITE)
def test_topic_and_person_pages_announce_their_own_feeds(
    client, newsroom, url, title, feed_path
):
    links = alternate_links(client.get(url).content.decode())

    assert links[:2] == [
        f'<link rel="alternate" type="application/rss+xml" title="{title} (RSS)" '
        f'href="{SITE}{feed_path}rss/">',
        f'<link rel="alternate" type="application/atom+xml" title="{title} (Atom)" '
        f'href="{SITE}{feed_path}atom/">',
    ]
    for link in links:
        path = link.split(f'href="{SITE}')[1].split('"')[0]
        parse(client.get(path))
