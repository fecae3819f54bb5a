from datetime import datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from articles.models import Article
from articles.sitemaps import ArticleSitemap
from tests.conftest import make_article, make_person

pytestmark = pytest.mark.django_db

SITE = "https://news.example.org"
NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


def get_xml(client, path, **headers):
    response = client.get(path, **headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    return ElementTree.fromstring(response.content)


def locations(root):
    return [loc.text for loc in root.iterfind(".//sm:loc", NS)]


@pytest.fixture
def newsroom():
    now = timezone.now()
    ada = make_person(name="Ada", slug="ada")
    make_person(name="Nobody", slug="nobody")
    draft_only = make_person(name="Drafty", slug="drafty")
    live = make_article(slug="live", published_at=now - timedelta(days=3))
    live.tags.add("Climate")
    live.people.add(ada)
    draft = make_article(slug="draft", status=Article.Status.DRAFT)
    draft.tags.add("Secret plans")
    draft.people.add(draft_only)
    scheduled = make_article(slug="scheduled", published_at=now + timedelta(hours=1))
    scheduled.tags.add("Embargoed")
    scheduled.people.add(draft_only)
    return live


def test_sitemap_index_lists_the_sections_with_absolute_urls(client, newsroom):
    root = get_xml(client, "/sitemap.xml")

    assert root.tag == f"{{{NS['sm']}}}sitemapindex"
    assert locations(root) == [
        f"{SITE}/sitemap-articles.xml",
        f"{SITE}/sitemap-topics.xml",
        f"{SITE}/sitemap-people.xml",
        f"{SITE}/sitemap-authors.xml",
    ]
    articles_entry = root.find("sm:sitemap", NS)
    lastmod = articles_entry.find("sm:lastmod", NS).text
    # Saved just now but published three days ago and not updated since.
    assert lastmod.startswith(newsroom.published_at.date().isoformat())


def test_index_lists_every_page_of_a_long_section(client, monkeypatch):
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    for _ in range(5):
        make_article()

    root = get_xml(client, "/sitemap.xml")

    assert locations(root)[:3] == [
        f"{SITE}/sitemap-articles.xml",
        f"{SITE}/sitemap-articles.xml?p=2",
        f"{SITE}/sitemap-articles.xml?p=3",
    ]
    assert len(locations(get_xml(client, "/sitemap-articles.xml?p=3"))) == 1


def test_articles_sitemap_lists_only_published_articles_with_lastmod(client, newsroom):
    root = get_xml(client, "/sitemap-articles.xml")

    assert locations(root) == [f"{SITE}/articles/live/"]
    lastmod = root.find(".//sm:lastmod", NS).text
    assert lastmod == newsroom.published_at.date().isoformat()


def test_topics_and_people_appear_only_with_published_articles(client, newsroom):
    topics = get_xml(client, "/sitemap-topics.xml")
    people = get_xml(client, "/sitemap-people.xml")

    assert locations(topics) == [f"{SITE}/tags/climate/"]
    assert locations(people) == [f"{SITE}/people/ada/"]
    assert topics.find(".//sm:lastmod", NS).text == (
        newsroom.published_at.date().isoformat()
    )


def test_unknown_section_is_404(client):
    assert client.get("/sitemap-drafts.xml").status_code == 404


def test_sitemaps_ignore_a_spoofed_host(client, settings, newsroom):
    settings.ALLOWED_HOSTS = ["evil.example.com"]
    make_article(published_at=timezone.now())  # for the news sitemap

    for path in ["/sitemap.xml", "/sitemap-articles.xml", "/sitemap-news.xml"]:
        response = client.get(path, HTTP_HOST="evil.example.com")
        assert response.status_code == 200
        assert "evil.example.com" not in response.content.decode()
        urls = locations(ElementTree.fromstring(response.content))
        assert urls
        assert all(url.startswith(f"{SITE}/") for url in urls)


def test_news_sitemap_lists_the_last_48_hours(client, settings):
    now = timezone.now()
    recent = make_article(
        slug="recent",
        headline="Storm & <floods>",
        published_at=now - timedelta(hours=47),
    )
    make_article(slug="old", published_at=now - timedelta(hours=49))
    make_article(slug="draft", status=Article.Status.DRAFT, published_at=now)
    make_article(slug="scheduled", published_at=now + timedelta(minutes=5))

    root = get_xml(client, "/sitemap-news.xml")

    assert locations(root) == [f"{SITE}/articles/recent/"]
    news = root.find("sm:url/news:news", NS)
    assert news.find("news:publication/news:name", NS).text == settings.SITE_NAME
    assert news.find("news:publication/news:language", NS).text == "en"
    assert news.find("news:title", NS).text == "Storm & <floods>"
    published = news.find("news:publication_date", NS).text
    assert datetime.fromisoformat(published) == recent.published_at


def test_news_sitemap_survives_control_characters(client):
    make_article(headline="Bell\x07 rings", published_at=timezone.now())

    root = get_xml(client, "/sitemap-news.xml")

    assert root.find(".//news:title", NS).text == "Bell rings"


def test_robots_txt_names_the_sitemaps(client, settings):
    settings.ALLOWED_HOSTS = ["evil.example.com", "testserver"]

    response = client.get("/robots.txt", HTTP_HOST="evil.example.com")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert f"Sitemap: {SITE}/sitemap.xml" in lines
    assert f"Sitemap: {SITE}/sitemap-news.xml" in lines
    assert "Disallow: /search/" in lines
    assert lines[0] == "User-agent: *"
    for line in lines:
        if line.startswith("Sitemap: "):
            path = line.removeprefix(f"Sitemap: {SITE}")
            get_xml(client, path)
