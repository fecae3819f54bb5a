"""Authors and bylines: the admin, the story, its cards, feeds, JSON-LD and the
author's own page (/authors/<slug>/)."""

import json
import re

import feedparser
import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from articles.bylines import Author, join_names
from articles.models import Article
from tests.conftest import credit, make_article, make_author, make_person
from tests.html_forms import form_data
from tests.test_images import make_image, photo_bytes

pytestmark = pytest.mark.django_db

SITE = "https://news.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE
    settings.SITE_NAME = "The Example Times"


def json_ld(response):
    blocks = re.findall(
        r'<script type="application/ld\+json">(.*?)</script>',
        response.content.decode(),
        re.DOTALL,
    )
    return {data["@type"]: data for data in map(json.loads, blocks)}


def feed(client, url):
    parsed = feedparser.parse(client.get(url).content)
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def post_form(client, url, form_id, **changes):
    """GET the admin form, change some fields, POST it back as a browser would."""
    data = form_data(client.get(url).content.decode(), form_id)
    data.update({name: [value] for name, value in changes.items()})
    return client.post(url, data)


# Through the admin, as an editor: the whole journey of the issue


def test_editor_adds_author_with_photo_and_credits_a_story_to_two_in_order(
    editor_client,
):
    portrait = make_image(photo_bytes(600, 600), alt_text="Ada at her desk")
    response = post_form(
        editor_client,
        reverse("admin:articles_author_add"),
        "author_form",
        name="Ada Lovelace",
        slug="ada-lovelace",
        job_title="Science correspondent",
        bio="Writes about engines.",
        photo=str(portrait.pk),
        website="https://ada.example.org/",
        social_profiles="https://mastodon.example/@ada\nhttps://bsky.example/ada",
    )
    assert response.status_code == 302, response.context["errors"]
    ada = Author.objects.get(slug="ada-lovelace")
    assert ada.photo == portrait
    charles = make_author(name="Charles Babbage", slug="charles-babbage")
    article = make_article(slug="engine", headline="Engine computes numbers")

    # Charles is entered first but numbered second: the numbers set the order.
    change_url = reverse("admin:articles_article_change", args=[article.pk])
    response = post_form(
        editor_client,
        change_url,
        "article_form",
        **{
            "bylines-0-author": str(charles.pk),
            "bylines-0-position": "2",
            "bylines-1-author": str(ada.pk),
            "bylines-1-position": "1",
        },
    )
    assert response.status_code == 302, response.context["errors"]

    reader = Client()
    page = reader.get("/articles/engine/")
    assertContains(
        page,
        '<p class="byline">By <a href="/authors/ada-lovelace/" rel="author">Ada '
        'Lovelace</a> and <a href="/authors/charles-babbage/" rel="author">Charles '
        "Babbage</a></p>",
        html=True,
    )
    assert json_ld(page)["NewsArticle"]["author"] == [
        {
            "@type": "Person",
            "name": "Ada Lovelace",
            "url": f"{SITE}/authors/ada-lovelace/",
            "jobTitle": "Science correspondent",
        },
        {
            "@type": "Person",
            "name": "Charles Babbage",
            "url": f"{SITE}/authors/charles-babbage/",
        },
    ]

    rss = feed(reader, "/feeds/rss/").entries[0]
    atom = feed(reader, "/feeds/atom/").entries[0]
    assert [author["name"] for author in rss.authors] == [
        "Ada Lovelace",
        "Charles Babbage",
    ]
    assert [(author["name"], author["href"]) for author in atom.authors] == [
        ("Ada Lovelace", f"{SITE}/authors/ada-lovelace/"),
        ("Charles Babbage", f"{SITE}/authors/charles-babbage/"),
    ]

    profile = reader.get("/authors/ada-lovelace/")
    assertContains(profile, '<a href="/articles/engine/">Engine computes numbers</a>')
    assertContains(profile, 'alt="Ada at her desk"')
    assertContains(profile, "Science correspondent")
    assertContains(profile, '<a href="https://mastodon.example/@ada" rel="me">')
    data = json_ld(profile)["ProfilePage"]
    assert data["mainEntity"]["name"] == "Ada Lovelace"
    assert data["mainEntity"]["sameAs"] == [
        "https://ada.example.org/",
        "https://mastodon.example/@ada",
        "https://bsky.example/ada",
    ]
    assert data["mainEntity"]["image"].startswith(f"{SITE}/media/")
    assert data["hasPart"]["itemListElement"][0]["url"] == f"{SITE}/articles/engine/"
    for kind in ("rss", "atom"):
        author_feed = feed(reader, f"/authors/ada-lovelace/feed/{kind}/")
        assert [entry.link for entry in author_feed.entries] == [
            f"{SITE}/articles/engine/"
        ]


def test_author_links_must_be_web_addresses(editor_client):
    response = post_form(
        editor_client,
        reverse("admin:articles_author_add"),
        "author_form",
        name="Mallory",
        slug="mallory",
        website="javascript:alert(1)",
        social_profiles="https://ok.example/\njavascript:alert(2)",
    )
    assert response.status_code == 200
    assertContains(response, "Enter a web address that starts with http://")
    assertContains(response, "&#x27;javascript:alert(2)&#x27; is not a web address")
    assert not Author.objects.exists()


def test_editors_add_and_change_authors_but_cannot_delete_them(editor_client, editor):
    author = make_author()
    assert editor.has_perm("articles.add_author")
    assert editor.has_perm("articles.change_author")
    assert not editor.has_perm("articles.delete_author")
    assert (
        editor_client.get(reverse("admin:articles_author_changelist")).status_code
        == 200
    )
    delete_url = reverse("admin:articles_author_delete", args=[author.pk])
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Author.objects.filter(pk=author.pk).exists()


# How the byline reads


@pytest.mark.parametrize(
    ("names", "text"),
    [
        ([], ""),
        (["A"], "A"),
        (["A", "B"], "A and B"),
        (["A", "B", "C"], "A, B and C"),
    ],
)
def test_names_join_as_a_byline_reads(names, text):
    assert join_names(names) == text


def test_byline_of_three_on_the_page_and_on_every_card(client):
    authors = [make_author(name=name) for name in ("Ann", "Bob", "Cy")]
    article = make_article(slug="three")
    credit(article, *authors)
    byline_text = re.compile(
        r"By\s*<a[^>]*>Ann</a>, <a[^>]*>Bob</a> and <a[^>]*>Cy</a>"
    )
    assert byline_text.search(client.get("/articles/three/").content.decode())
    for _ in range(5):  # the credited story as a card under "More news"
        make_article()
    home = client.get("/").content.decode()
    assert len(byline_text.findall(home)) == 1
    person = make_person(slug="someone")
    article.people.add(person)
    assert byline_text.search(client.get("/people/someone/").content.decode())


def test_story_without_author_is_credited_to_the_publication(client):
    make_article(slug="no-byline")
    response = client.get("/articles/no-byline/")
    assertNotContains(response, 'class="byline"')
    assert json_ld(response)["NewsArticle"]["author"] == [
        {"@type": "Organization", "name": "The Example Times", "url": f"{SITE}/"}
    ]
    # The entry names nobody, so Atom credits it to the feed's author.
    atom = feed(client, "/feeds/atom/")
    assert "authors" not in atom.entries[0]
    assert atom.feed.author == "The Example Times"
    assert "authors" not in feed(client, "/feeds/rss/").entries[0]


# The author's page


def test_author_page_and_feeds_are_404_until_a_story_is_published(client, editor):
    author = make_author(slug="new-hire")
    draft = make_article(status=Article.Status.DRAFT, published_at=None)
    credit(draft, author)
    urls = [
        "/authors/new-hire/",
        *(f"/authors/new-hire/feed/{k}/" for k in ("rss", "atom")),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert (
        "/authors/new-hire/" not in client.get("/sitemap-authors.xml").content.decode()
    )

    draft.status = Article.Status.PUBLISHED
    draft.save()
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert (
        f"{SITE}/authors/new-hire/"
        in client.get("/sitemap-authors.xml").content.decode()
    )


def test_author_page_lists_only_their_published_stories_twenty_a_page(client):
    author = make_author(slug="busy")
    for _ in range(21):
        credit(make_article(), author)
    credit(make_article(status=Article.Status.DRAFT, headline="Secret draft"), author)
    make_article(headline="Someone else's story")
    first = client.get("/authors/busy/")
    assert len(first.context["page"].object_list) == 20
    assertNotContains(first, "Secret draft")
    assertNotContains(first, "Someone else")
    assert len(client.get("/authors/busy/?page=2").context["page"].object_list) == 1
    assert client.get("/authors/busy/?page=3").status_code == 404


@pytest.mark.usefixtures("without_page_cache")
@pytest.mark.parametrize("count", [1, 40])
def test_author_page_runs_five_queries_whatever_it_holds(
    client, django_assert_num_queries, count
):
    photo = make_image(photo_bytes(400, 300))
    author = make_author(slug="prolific", photo=photo, bio="Bio.")
    for _ in range(count):
        article = make_article(lead_image=photo)
        credit(article, author, make_author())
    # fingerprint, author with photo, count, page of stories, their bylines
    with django_assert_num_queries(5):
        response = client.get("/authors/prolific/")
    assert response.status_code == 200
    assert response.content.decode().count('class="card-byline"') == min(count, 20)


@pytest.mark.usefixtures("without_page_cache")
def test_author_page_etag_changes_when_the_author_is_renamed(client):
    author = make_author(slug="renamed")
    credit(make_article(), author)
    etag = client.get("/authors/renamed/")["ETag"]
    assert client.get("/authors/renamed/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    author.name = "A New Name"
    author.save()
    response = client.get("/authors/renamed/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assertContains(response, "A New Name")


@pytest.mark.usefixtures("without_page_cache")
def test_article_etag_changes_when_its_author_is_renamed(client):
    author = make_author(name="Old Name")
    credit(make_article(slug="story"), author)
    etag = client.get("/articles/story/")["ETag"]
    author.name = "New Name"
    author.save()
    response = client.get("/articles/story/", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assertContains(response, "New Name")


@pytest.mark.parametrize("url", ["/feeds/rss/", "/feeds/atom/"])
def test_feed_version_changes_when_an_author_is_renamed(client, url):
    author = make_author(name="Old Name")
    credit(make_article(), author)
    etag = client.get(url)["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    author.name = "New Name"
    author.save()
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assertContains(response, "New Name")


def test_author_rename_reaches_cached_pages_at_once():
    reader = Client()
    author = make_author(name="Old Name", slug="writer")
    credit(make_article(slug="story"), author)
    for url in ("/", "/articles/story/", "/authors/writer/"):
        assert b"Old Name" in reader.get(url).content
        assert reader.get(url)["X-Cache"] == "HIT"
    author.name = "New Name"
    author.save()
    for url in ("/", "/articles/story/", "/authors/writer/"):
        assert b"New Name" in reader.get(url).content, url


def test_author_slug_change_redirects_old_address_and_feeds(client):
    author = make_author(slug="old-slug")
    credit(make_article(), author)
    author.slug = "new-slug"
    author.save()
    response = client.get("/authors/old-slug/feed/atom/")
    assert response.status_code == 301
    assert response["Location"] == "/authors/new-slug/feed/atom/"


# "My stories"


@pytest.fixture
def my_stories(editor):
    me = make_author(name="Me", user=editor)
    other = make_author(name="Someone Else")
    mine = {
        "draft": make_article(
            headline="My draft", status=Article.Status.DRAFT, published_at=None
        ),
        "published": make_article(headline="My published story"),
    }
    for article in mine.values():
        credit(article, me)
    credit(make_article(headline="Their story"), other)
    make_article(headline="Nobody's story")
    return mine


def test_editor_finds_their_own_stories_on_the_start_page(editor_client, my_stories):
    response = editor_client.get(reverse("admin:index"))
    html = response.content.decode()
    assert "My drafts (1)" in html
    assert "My scheduled stories (0)" in html
    assert "My published stories (1)" in html
    assert "?author=mine&amp;publication=draft" in html
    desk = html[html.index('id="editorial-desk"') :]
    first_section = desk[: desk.index("My published stories")]
    assert "My draft" in first_section
    assert "Their story" not in first_section


def test_editor_without_author_sees_no_my_stories(editor_client):
    make_author(name="Not me")
    assertNotContains(editor_client.get(reverse("admin:index")), "My drafts")


def test_change_list_filters_mine_and_by_author(editor_client, my_stories):
    changelist = reverse("admin:articles_article_changelist")
    mine = editor_client.get(changelist, {"author": "mine"})
    assert {article.headline for article in mine.context["cl"].result_list} == {
        "My draft",
        "My published story",
    }
    other = Author.objects.get(name="Someone Else")
    theirs = editor_client.get(changelist, {"author": str(other.pk)})
    assert [a.headline for a in theirs.context["cl"].result_list] == ["Their story"]
    assertContains(mine, "Someone Else")  # a choice in the filter


def test_mine_filter_is_offered_only_to_editors_linked_to_an_author(editor_client):
    make_author(name="Another")
    response = editor_client.get(reverse("admin:articles_article_changelist"))
    assertNotContains(response, "?author=mine")
    assertContains(response, "Another")


def test_staff_user_may_be_linked_to_only_one_author(editor_client, editor):
    make_author(user=editor)
    User.objects.create_user("clerk", is_staff=True)
    User.objects.create_user("reader-account")
    response = editor_client.get(reverse("admin:articles_author_add"))
    assertContains(response, ">clerk</option>")
    assertNotContains(response, "reader-account")
    taken = post_form(
        editor_client,
        reverse("admin:articles_author_add"),
        "author_form",
        name="Twin",
        slug="twin",
        user=str(editor.pk),
    )
    assert taken.status_code == 200
    assertContains(taken, "Author with this User already exists.")
