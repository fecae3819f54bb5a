import re
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date
from pytest_django.asserts import assertContains, assertNotContains

from articles.models import Article, Correction
from tests.conftest import make_article
from tests.html_forms import form_data
from tests.test_metadata import json_ld

# What the views do themselves; the page cache in front is tests/test_cache.py's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def test_editors_may_add_change_view_and_delete_corrections():
    codenames = set(
        Group.objects.get(name="Editors").permissions.values_list("codename", flat=True)
    )
    assert {
        "add_correction",
        "change_correction",
        "view_correction",
        "delete_correction",
    } <= codenames


def post_with_new_correction(client, article, kind, text):
    data = form_data(client.get(change_url(article)).content.decode(), "article_form")
    data.update(
        {
            "corrections-TOTAL_FORMS": ["1"],
            "corrections-0-kind": [kind],
            "corrections-0-published_at_0": ["2024-05-02"],
            "corrections-0-published_at_1": ["09:30:00"],
            "corrections-0-text": [text],
        }
    )
    return client.post(change_url(article), data)


def test_editor_adds_a_correction_in_the_article_form(editor_client):
    article = make_article()

    response = post_with_new_correction(
        editor_client,
        article,
        "clarification",
        "The minister spoke on Tuesday, not Monday.",
    )

    assert response.status_code == 302, response.context["errors"]
    correction = article.corrections.get()
    assert correction.kind == Correction.Kind.CLARIFICATION
    assert correction.text == "The minister spoke on Tuesday, not Monday."
    assert timezone.localtime(correction.published_at).hour == 9


def test_editor_removes_a_correction_from_the_article_form(editor_client):
    article = make_article()
    article.corrections.create(text="Wrongly added.")
    data = form_data(
        editor_client.get(change_url(article)).content.decode(), "article_form"
    )
    data["corrections-0-DELETE"] = ["on"]

    response = editor_client.post(change_url(article), data)

    assert response.status_code == 302, response.context["errors"]
    assert not article.corrections.exists()


def test_correction_without_text_is_refused(editor_client):
    article = make_article()

    response = post_with_new_correction(editor_client, article, "correction", "")

    assert response.status_code == 200
    assert not Correction.objects.exists()


def test_corrections_come_back_oldest_first_and_default_to_now():
    article = make_article()
    later = article.corrections.create(text="Second.")
    earlier = article.corrections.create(
        text="First.", published_at=timezone.now() - timedelta(days=1)
    )

    assert list(article.corrections.all()) == [earlier, later]
    assert later.kind == Correction.Kind.CORRECTION
    assert abs(later.published_at - timezone.now()) < timedelta(minutes=1)


def test_a_correction_does_not_move_the_updated_notice():
    article = make_article()
    article.corrections.create(text="A fix.")
    article.save()
    article.refresh_from_db()
    assert article.content_updated_at is None


def test_a_correction_dated_in_the_future_is_refused(editor_client):
    article = make_article()
    data = form_data(
        editor_client.get(change_url(article)).content.decode(), "article_form"
    )
    tomorrow = timezone.localtime() + timedelta(days=1)
    data.update(
        {
            "corrections-TOTAL_FORMS": ["1"],
            "corrections-0-kind": ["correction"],
            "corrections-0-published_at_0": [tomorrow.strftime("%Y-%m-%d")],
            "corrections-0-published_at_1": [tomorrow.strftime("%H:%M:%S")],
            "corrections-0-text": ["Not yet."],
        }
    )

    response = editor_client.post(change_url(article), data)

    assertContains(response, "A correction cannot be dated in the future.")
    assert not Correction.objects.exists()


# On the site

CORRECTED = datetime(2024, 5, 3, 14, 5, tzinfo=UTC)


def iso(moment):
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def test_article_page_shows_each_correction_dated_in_a_box_of_its_kind(client):
    article = make_article(slug="corrected")
    article.corrections.create(
        kind=Correction.Kind.CORRECTION,
        text="The decree was signed on Tuesday, not <b>Monday</b>.",
        published_at=CORRECTED,
    )
    article.corrections.create(
        kind=Correction.Kind.CLARIFICATION,
        text="The centres are for training only.",
        published_at=CORRECTED + timedelta(hours=1),
    )

    html = client.get("/articles/corrected/").content.decode()

    boxes = re.findall(
        r'<div class="correction correction-(\w+)" id="correction-\d+">\s*'
        r'<h3 class="correction-kind">(\w+)</h3>\s*'
        r'<p class="correction-date"><time datetime="([^"]+)">',
        html,
    )
    assert boxes == [
        ("correction", "Correction", iso(CORRECTED)),
        ("clarification", "Clarification", iso(CORRECTED + timedelta(hours=1))),
    ]
    assert "not &lt;b&gt;Monday&lt;/b&gt;." in html
    # Readers see the story's text unchanged: a correction is not an update.
    assert "Updated" not in html


def test_article_without_corrections_has_no_corrections_section(client):
    make_article(slug="clean")
    assertNotContains(client.get("/articles/clean/"), 'class="corrections"')


def test_json_ld_carries_corrections_and_date_modified_moves_to_the_latest(client):
    article = make_article(slug="corrected", published_at=CORRECTED - timedelta(1))
    article.corrections.create(text="Second <fix>.", published_at=CORRECTED)
    article.corrections.create(
        text="First fix.", published_at=CORRECTED - timedelta(hours=2)
    )

    news = json_ld(client.get("/articles/corrected/"))["NewsArticle"]

    assert news["correction"] == [
        {
            "@type": "CorrectionComment",
            "text": "First fix.",
            "datePublished": iso(CORRECTED - timedelta(hours=2)),
        },
        {
            "@type": "CorrectionComment",
            "text": "Second <fix>.",
            "datePublished": iso(CORRECTED),
        },
    ]
    assert news["dateModified"] == iso(CORRECTED)
    assert news["datePublished"] == iso(CORRECTED - timedelta(1))


def test_a_correction_saved_in_the_admin_shows_on_the_page_at_once(client, editor):
    article = make_article(slug="to-correct")
    reader = Client()
    assertNotContains(reader.get("/articles/to-correct/"), "Tuesday, not Monday")

    client.force_login(editor)
    response = post_with_new_correction(
        client, article, "correction", "Tuesday, not Monday."
    )
    assert response.status_code == 302, response.context["errors"]

    page = reader.get("/articles/to-correct/")
    assertContains(page, "Tuesday, not Monday.")
    assert json_ld(page)["NewsArticle"]["correction"][0]["text"] == (
        "Tuesday, not Monday."
    )


def add_correction(article):
    article.corrections.create(text="A new correction.")


def edit_correction(article):
    correction = article.corrections.get()
    correction.text = "The same correction, reworded."
    correction.save()


def remove_correction(article):
    article.corrections.get().delete()


@pytest.mark.parametrize("change", [add_correction, edit_correction, remove_correction])
def test_etag_and_last_modified_move_when_a_correction_changes(client, change):
    # Later than the templates' files, which Last-Modified also accounts for.
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    with time_machine.travel(start, tick=False):
        article = make_article(slug="story", published_at=start - timedelta(1))
        if change is not add_correction:
            article.corrections.create(text="A correction.")
        before = client.get("/articles/story/")

    changed_at = start + timedelta(minutes=5)
    with time_machine.travel(changed_at, tick=False):
        change(article)
        after = client.get(
            "/articles/story/",
            headers={
                "if-none-match": before["ETag"],
                "if-modified-since": before["Last-Modified"],
            },
        )
    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after["Last-Modified"] == http_date(changed_at.timestamp())
    # With only If-Modified-Since (as some crawlers send) the change shows too.
    since = client.get(
        "/articles/story/", headers={"if-modified-since": before["Last-Modified"]}
    )
    assert since.status_code == 200


# /corrections/


def correct(article, text, published_at, kind=Correction.Kind.CORRECTION):
    return article.corrections.create(text=text, published_at=published_at, kind=kind)


def test_corrections_page_lists_every_correction_with_its_story_newest_first(client):
    older_story = make_article(slug="older", headline="Older story")
    newer_story = make_article(slug="newer", headline="Newer story & more")
    oldest = correct(older_story, "Oldest fix.", CORRECTED - timedelta(days=2))
    newest = correct(
        older_story, "Newest fix.", CORRECTED, kind=Correction.Kind.CLARIFICATION
    )
    middle = correct(newer_story, "Middle fix.", CORRECTED - timedelta(days=1))
    hidden = make_article(slug="draft", status=Article.Status.DRAFT)
    correct(hidden, "Fix of a draft.", CORRECTED)
    scheduled = make_article(published_at=timezone.now() + timedelta(hours=1))
    correct(scheduled, "Fix of a scheduled story.", CORRECTED)

    response = client.get("/corrections/")

    assert list(response.context["page"].object_list) == [newest, middle, oldest]
    html = response.content.decode()
    assert "Fix of a draft" not in html
    assert "Fix of a scheduled story" not in html
    assertContains(
        response,
        f'<h2 class="correction-story"><a href="/articles/older/#correction-'
        f'{newest.pk}">Older story</a></h2>',
    )
    assertContains(response, "Newer story &amp; more</a>")
    assertContains(response, '<p class="correction-kind">Clarification</p>')
    assertContains(response, f'<time datetime="{iso(CORRECTED)}">')
    assertContains(response, f'id="correction-{newest.pk}"', count=0)
    # The link's target exists on the article page.
    assertContains(client.get("/articles/older/"), f'id="correction-{newest.pk}"')


def test_corrections_page_paginates_by_twenty(client):
    article = make_article()
    for number in range(21):
        correct(article, f"Fix {number}.", CORRECTED + timedelta(minutes=number))

    first, second = client.get("/corrections/"), client.get("/corrections/?page=2")

    assert len(first.context["page"].object_list) == 20
    assert [c.text for c in second.context["page"].object_list] == ["Fix 0."]
    assertContains(first, 'rel="next" href="?page=2">Older corrections</a>')
    assertContains(second, 'rel="prev" href="/corrections/">Newer corrections</a>')
    assertContains(
        second, "<title>Corrections and clarifications, page 2 | Newsroom</title>"
    )


@pytest.mark.parametrize("page", ["abc", "0", "2", "-1", "01"])
def test_corrections_page_out_of_range_is_404(client, page):
    correct(make_article(), "A fix.", CORRECTED)
    response = client.get("/corrections/", {"page": page})
    assert response.status_code == 404
    assert not response.has_header("ETag")


def test_corrections_page_without_corrections_says_so(client):
    assertContains(client.get("/corrections/"), "No corrections yet.")


@pytest.mark.parametrize("count", [1, 30])
def test_corrections_page_runs_three_queries_whatever_it_holds(
    client, django_assert_num_queries, count
):
    for _ in range(count):
        correct(make_article(), "A fix.", CORRECTED)
    # count, page of corrections with their stories, the versions of its key
    with django_assert_num_queries(3):
        assert client.get("/corrections/").status_code == 200


def test_corrections_page_is_linked_from_every_page_footer(client):
    article = make_article()
    for url in ["/", article.get_absolute_url(), "/tags/"]:
        footer = client.get(url).content.decode().split('<footer class="site-footer">')
        assert '<a href="/corrections/">Corrections</a>' in footer[1]


def test_corrections_page_etag_moves_with_any_correction(client):
    article = make_article()
    first = correct(article, "A fix.", CORRECTED)
    etags = [client.get("/corrections/")["ETag"]]
    second = correct(article, "Another fix.", CORRECTED)
    etags.append(client.get("/corrections/")["ETag"])
    first.text = "A fix, reworded."
    first.save()
    etags.append(client.get("/corrections/")["ETag"])
    second.delete()
    etags.append(client.get("/corrections/")["ETag"])
    Article.objects.filter(pk=article.pk).update(status=Article.Status.DRAFT)
    etags.append(client.get("/corrections/")["ETag"])

    assert len(set(etags)) == len(etags)
    repeat = client.get("/corrections/", headers={"if-none-match": etags[-1]})
    assert repeat.status_code == 304


# Corrections feeds

FEEDS = ["/corrections/feed/rss/", "/corrections/feed/atom/"]


def parse(response):
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


@pytest.mark.parametrize("url", FEEDS)
def test_corrections_feed_lists_corrections_newest_first(client, settings, url):
    settings.SITE_URL = "https://news.example.org"
    article = make_article(slug="story", headline="Tea & <biscuits>")
    older = correct(article, "Older <b>fix</b>.", CORRECTED - timedelta(hours=1))
    newer = correct(
        article, "Newer fix.", CORRECTED, kind=Correction.Kind.CLARIFICATION
    )
    correct(make_article(status=Article.Status.DRAFT), "Hidden.", CORRECTED)

    feed = parse(client.get(url))

    assert feed.feed.title.startswith("Corrections and clarifications")
    assert feed.feed.link == "https://news.example.org/corrections/"
    assert [entry.title for entry in feed.entries] == [
        "Clarification: Tea & <biscuits>",
        "Correction: Tea & <biscuits>",
    ]
    assert [entry.link for entry in feed.entries] == [
        f"https://news.example.org/articles/story/#correction-{newer.pk}",
        f"https://news.example.org/articles/story/#correction-{older.pk}",
    ]
    assert feed.entries[1].summary == "<p>Older &lt;b&gt;fix&lt;/b&gt;.</p>"
    published = datetime(*feed.entries[0].published_parsed[:6], tzinfo=UTC)
    assert published == CORRECTED
    assert [tag.term for tag in feed.entries[0].tags] == ["Clarification"]


@pytest.mark.parametrize("url", FEEDS)
def test_corrections_feed_answers_conditional_requests(client, url):
    article = make_article()
    correction = correct(article, "A fix.", CORRECTED)
    first = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304

    correction.text = "A fix, reworded."
    correction.save()

    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert parse(changed).entries[0].summary == "<p>A fix, reworded.</p>"


def test_corrections_page_announces_its_feeds(client, settings):
    settings.SITE_URL = "https://news.example.org"
    html = client.get("/corrections/").content.decode()
    head = html[: html.index("</head>")]

    for url in FEEDS:
        assert f'href="https://news.example.org{url}"' in head
        parse(client.get(url))
    assert 'title="Corrections and clarifications (RSS)"' in head
    assert 'title="Corrections and clarifications (Atom)"' in head
