"""Story photos where readers, networks, feed readers and crawlers meet them."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from xml.etree import ElementTree

import feedparser
import pytest
from django.urls import reverse
from django.utils import timezone

from articles import renditions
from tests.conftest import make_article
from tests.test_images import decode, make_image, photo_bytes
from tests.test_metadata import json_ld, meta

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]

SITE = "https://news.example.com"
IMAGE_NS = "http://www.google.com/schemas/sitemap-image/1.1"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture(scope="module")
def landscape():
    return photo_bytes(1200, 900)


@pytest.fixture
def photo(landscape):
    return make_image(
        landscape,
        alt_text="Soldiers march past a tank",
        caption="Troops on exercise near Minsk",
        credit="Reuters",
    )


@pytest.fixture
def story(photo):
    return make_article(
        slug="with-photo",
        lead_image=photo,
        image_caption="Belarusian troops on exercise",
        image_credit="AP",
        published_at=timezone.now() - timedelta(hours=1),
    )


class Images(HTMLParser):
    """Every <img> and <figcaption> text of a page."""

    def __init__(self, html):
        super().__init__()
        self.images, self.captions, self._in_caption = [], [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "figcaption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data):
        if self._in_caption:
            self.captions[-1] += data


def page_images(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return Images(response.content.decode())


# The article page and lists --------------------------------------------------------


def test_lead_image_is_eager_high_priority_and_sized(client, story):
    page = page_images(client, story.get_absolute_url())

    [lead] = [img for img in page.images if "story-photo" in img.get("class", "")]
    assert lead["fetchpriority"] == "high"
    assert lead["loading"] == "eager"
    assert lead["alt"] == "Soldiers march past a tank"
    # The aspect ratio of the photo, so nothing moves when it arrives.
    assert (int(lead["width"]), int(lead["height"])) == (1200, 900)
    assert "480w" in lead["srcset"] and "1200w" in lead["srcset"]
    assert decode(lead["src"].removeprefix("/media/")).size[0] <= 800


def test_story_caption_and_credit_win_over_the_images_own(client, story):
    page = page_images(client, story.get_absolute_url())

    assert page.captions == ["Belarusian troops on exercise Photograph: AP"]


def test_images_own_caption_and_credit_show_when_the_story_has_none(client, photo):
    article = make_article(lead_image=photo)

    page = page_images(client, article.get_absolute_url())

    assert page.captions == ["Troops on exercise near Minsk Photograph: Reuters"]


def test_a_story_without_a_photo_still_shows_its_caption(client):
    article = make_article(image_caption="Putin in Moscow", image_credit="AP")

    page = page_images(client, article.get_absolute_url())

    assert page.images == []
    assert page.captions == ["Putin in Moscow Photograph: AP"]


def test_list_cards_use_lazy_cropped_card_renditions(client, story, photo):
    for _ in range(5):
        make_article(lead_image=photo)

    page = page_images(client, "/")

    cards = [img for img in page.images if "card-photo" in img.get("class", "")]
    assert len(cards) == 6
    lead, *others = cards
    assert lead["loading"] == "eager"  # the front page's lead story, at the top
    assert {img["loading"] for img in others} == {"lazy"}
    for img in cards:
        assert "fetchpriority" not in img
        # 16:9, cropped around the focal point.
        assert (int(img["width"]), int(img["height"])) == (800, 450)
        assert decode(img["src"].removeprefix("/media/")).size == (800, 450)


# Metadata ---------------------------------------------------------------------------


def test_social_cards_carry_the_1200_by_630_photo(client, story):
    response = client.get(story.get_absolute_url())
    social = renditions.largest(story.lead_image, "social", "jpeg")

    assert meta(response, "og:image") == f"{SITE}{social.url}"
    assert meta(response, "og:image:width") == "1200"
    assert meta(response, "og:image:height") == "630"
    assert meta(response, "og:image:type") == "image/jpeg"
    assert meta(response, "og:image:alt") == "Soldiers march past a tank"
    assert meta(response, "twitter:card") == "summary_large_image"
    assert meta(response, "twitter:image") == f"{SITE}{social.url}"
    stored = decode(social.name)
    assert (stored.format, stored.size) == ("JPEG", (1200, 630))


def test_a_story_without_a_photo_has_no_image_cards(client):
    response = client.get(make_article().get_absolute_url())

    assert meta(response, "og:image") is None
    assert meta(response, "twitter:card") == "summary"
    assert "image" not in json_ld(response)["NewsArticle"]


def test_json_ld_image_is_an_image_object_with_credit_and_caption(client, story):
    image = json_ld(client.get(story.get_absolute_url()))["NewsArticle"]["image"]

    assert image["@type"] == "ImageObject"
    assert image["url"].startswith(f"{SITE}/media/")
    assert (image["width"], image["height"]) == (1200, 900)
    assert image["creditText"] == "AP"
    assert image["caption"] == "Belarusian troops on exercise"


# Feeds and the news sitemap ---------------------------------------------------------


@pytest.mark.parametrize("feed_type", ["rss", "atom"])
def test_feeds_carry_the_photo_as_media_content(client, story, feed_type):
    make_article(slug="no-photo")
    response = client.get(reverse(f"articles:feed_{feed_type}"))
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    social = renditions.largest(story.lead_image, "social", "jpeg")

    entries = {
        entry.link.rstrip("/").rsplit("/", 1)[-1]: entry for entry in feed.entries
    }
    [content] = entries["with-photo"].media_content
    assert content["url"] == f"{SITE}{social.url}"
    assert content["type"] == "image/jpeg"
    assert content["medium"] == "image"
    assert (content["width"], content["height"]) == ("1200", "630")
    assert entries["with-photo"].media_credit[0]["content"] == "AP"
    assert "media_content" not in entries["no-photo"]


def test_news_sitemap_carries_the_photo(client, story):
    make_article(slug="no-photo", published_at=timezone.now())
    response = client.get("/sitemap-news.xml")
    assert response.status_code == 200
    root = ElementTree.fromstring(response.content)
    social = renditions.largest(story.lead_image, "social", "jpeg")

    by_slug = {
        url.findtext("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")
        .rstrip("/")
        .rsplit("/", 1)[-1]: url
        for url in root
    }
    images = by_slug["with-photo"].findall(f"{{{IMAGE_NS}}}image/{{{IMAGE_NS}}}loc")
    assert [loc.text for loc in images] == [f"{SITE}{social.url}"]
    assert by_slug["no-photo"].find(f"{{{IMAGE_NS}}}image") is None


def test_photo_urls_never_come_from_the_host_header(client, story, settings):
    settings.ALLOWED_HOSTS = ["*"]
    html = client.get(story.get_absolute_url(), HTTP_HOST="evil.example").content
    assert b"evil.example" not in html
    assert re.search(rb'property="og:image" content="https://news\.example\.com/', html)
