"""Delivery by dependency keys (issue 20): a change makes exactly the pages that
show it miss; everything else stays cached, and validators follow the same keys."""

import logging
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from articles.delivery import keys, purge
from articles.delivery.memo import VersionedMemo
from articles.delivery.memo import memo as process_memo
from articles.models import Article, Author, Person
from tests.conftest import credit, make_article, make_author, make_person
from tests.html_forms import form_data
from tests.services import closed_port
from tests.test_images import make_image

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return Client()


def whole_second_story(**fields):
    # Whole seconds, as the admin's form posts them back: a save that changes
    # nothing else keeps the story's place in every list.
    number = Article.objects.count() + 1
    published_at = timezone.now().replace(microsecond=0) - timedelta(minutes=number)
    return make_article(published_at=published_at, **fields)


@pytest.fixture
def newsroom():
    """Two stories on one topic and person, one unrelated story, a link."""
    person = make_person(name="Ada Lovelace", slug="ada")
    author = make_author(name="Grace Hopper", slug="grace")
    main = whole_second_story(
        headline="Main headline", slug="main", standfirst="Main sf."
    )
    sibling = whole_second_story(headline="Sibling story", slug="sibling")
    other = whole_second_story(headline="Unrelated story", slug="other")
    for story in (main, sibling):
        story.tags.add("Climate")
        story.people.add(person)
        credit(story, author)
    other.tags.add("Gardening")
    pointing = whole_second_story(headline="Pointing story", slug="pointing")
    pointing.related_links.create(title="Read the main story", target=main)
    return {"main": main, "sibling": sibling, "other": other, "pointing": pointing}


def warm(reader, urls):
    for url in urls:
        assert reader.get(url).status_code == 200, url
        assert reader.get(url)["X-Cache"] == "HIT", url


def save_in_admin(client, article, **changes):
    url = reverse("admin:articles_article_change", args=[article.pk])
    data = form_data(client.get(url).content.decode(), "article_form")
    data.update(changes)
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]


EVERY_PAGE = [
    "/",
    "/articles/main/",
    "/articles/sibling/",
    "/articles/other/",
    "/articles/pointing/",
    "/tags/climate/",
    "/tags/gardening/",
    "/people/ada/",
    "/authors/grace/",
    "/feeds/rss/",
]


def test_editing_one_body_makes_only_that_story_and_the_feeds_miss(
    reader, editor_client, newsroom
):
    warm(reader, EVERY_PAGE)
    save_in_admin(editor_client, newsroom["main"], body="<p>A rewritten body.</p>")

    response = reader.get("/articles/main/")
    assert response["X-Cache"] == "MISS"
    assert b"A rewritten body." in response.content
    # The feeds carry whole stories; every other page shows no body.
    assert reader.get("/feeds/rss/")["X-Cache"] == "MISS"
    for url in set(EVERY_PAGE) - {"/articles/main/", "/feeds/rss/"}:
        assert reader.get(url)["X-Cache"] == "HIT", url


def test_a_new_headline_shows_on_every_page_that_shows_it(
    reader, editor_client, newsroom
):
    warm(reader, EVERY_PAGE)
    save_in_admin(editor_client, newsroom["main"], headline="A brand new headline")

    shows_it = [
        "/",
        "/articles/main/",
        "/articles/sibling/",  # "More on this"
        "/tags/climate/",
        "/people/ada/",
        "/authors/grace/",
        "/feeds/rss/",
    ]
    for url in shows_it:
        response = reader.get(url)
        assert response["X-Cache"] == "MISS", url
        assert b"A brand new headline" in response.content, url
    # The related link keeps its own title but follows the story's state.
    assert reader.get("/articles/pointing/")["X-Cache"] == "MISS"
    for url in ("/articles/other/", "/tags/gardening/"):
        assert reader.get(url)["X-Cache"] == "HIT", url


def write_story(folder, number):
    (folder / f"{number:03}.txt").write_text(
        f"Imported story number {number}\n"
        f"A standfirst for imported story {number}.\n\n"
        f"The first paragraph of imported story {number}.\n"
        "The second paragraph.\n"
    )


def test_importing_a_hundred_stories_leaves_untouched_pages_cached(
    reader, newsroom, tmp_path
):
    untouched = ["/articles/other/", "/tags/gardening/", "/articles/main/"]
    warm(reader, [*untouched, "/"])
    for number in range(100):
        write_story(tmp_path, number)

    call_command("import_articles", str(tmp_path), verbosity=0)

    assert Article.objects.filter(headline__startswith="Imported story").count() == 100
    for url in untouched:
        assert reader.get(url)["X-Cache"] == "HIT", url
    home = reader.get("/")
    assert home["X-Cache"] == "MISS"
    assert b"Imported story number 99" in home.content


def test_scheduled_story_appears_at_its_minute_everywhere_without_a_clear(
    reader, newsroom
):
    moment = timezone.now().replace(microsecond=0) + timedelta(minutes=10)
    later = make_article(
        headline="Story of the hour", slug="later", published_at=moment
    )
    later.tags.add("Climate")
    urls = ["/", "/tags/climate/", "/articles/sibling/", "/articles/other/"]
    warm(reader, urls)
    assert reader.get("/articles/later/").status_code == 404
    for url in urls[:3]:
        assert b"Story of the hour" not in reader.get(url).content

    with time_machine.travel(moment + timedelta(seconds=1), tick=False):
        assert reader.get("/articles/later/").status_code == 200
        for url in urls[:3]:
            assert b"Story of the hour" in reader.get(url).content, url


def test_etags_change_exactly_when_the_page_does(reader, newsroom):
    urls = ["/articles/main/", "/articles/other/", "/tags/climate/"]
    first = {url: reader.get(url)["ETag"] for url in urls}
    # From the cache, the same validators; a matching request gets a 304.
    for url in urls:
        again = reader.get(url, HTTP_IF_NONE_MATCH=first[url])
        assert again.status_code == 304
        assert again["ETag"] == first[url]

    main = newsroom["main"]
    main.body = "<p>Rewritten.</p>"
    main.save()
    second = {url: reader.get(url)["ETag"] for url in urls}
    assert second["/articles/main/"] != first["/articles/main/"]
    assert second["/articles/other/"] == first["/articles/other/"]
    assert second["/tags/climate/"] == first["/tags/climate/"]  # shows no body

    main.standfirst = "A standfirst the cards show."
    main.save()
    third = {url: reader.get(url)["ETag"] for url in urls}
    assert third["/tags/climate/"] != second["/tags/climate/"]
    assert third["/articles/other/"] == first["/articles/other/"]


def test_responses_name_their_keys_for_shared_caches(reader, newsroom):
    response = reader.get("/articles/main/")
    named = response["Surrogate-Key"].split()
    main, sibling = newsroom["main"], newsroom["sibling"]
    topic = main.tags.get()
    for key in (
        keys.article(main.pk),
        keys.card(sibling.pk),
        keys.topic(topic.pk),
        keys.topic_list(topic.pk),
    ):
        assert key in named
    assert keys.article(newsroom["other"].pk) not in named
    assert response["Cache-Tag"].split(",") == named
    # Short for browsers; for shared caches too, unless they are purged.
    assert "max-age=30" in response["Cache-Control"]
    assert "s-maxage=60" in response["Cache-Control"]


def test_with_a_purge_url_shared_caches_keep_pages_a_day(reader, newsroom, settings):
    settings.PURGE_URL = f"http://127.0.0.1:{closed_port()}/"
    response = reader.get("/articles/other/")
    assert "s-maxage=86400" in response["Cache-Control"]
    assert "max-age=30" in response["Cache-Control"]


def test_a_failing_purge_is_logged_and_never_breaks_the_save(
    newsroom, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PURGE_URL = f"http://127.0.0.1:{closed_port()}/"
    sent = []
    original = purge.send_in_background

    def send_and_wait(keys_to_purge):
        thread = original(keys_to_purge)
        thread.join(5)
        sent.append(keys_to_purge)
        return thread

    purge.send_in_background = send_and_wait
    try:
        with (
            caplog.at_level(logging.WARNING, logger="articles.delivery.purge"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            main = newsroom["main"]
            main.headline = "Saved whatever the cache says"
            main.save()
    finally:
        purge.send_in_background = original
    assert Article.objects.get(pk=main.pk).headline == "Saved whatever the cache says"
    assert keys.card(main.pk) in sent[0]
    assert "Purging" in caplog.text


def test_anonymous_readers_never_load_a_session(reader, newsroom):
    for url in ("/", "/articles/main/", "/tags/climate/", "/feeds/rss/"):
        response = reader.get(url)
        # SessionMiddleware adds Vary: Cookie whenever the session was read.
        assert "cookie" not in response.get("Vary", "").lower(), url
        assert not response.cookies, url


def test_the_memo_stands_four_threads_filling_and_clearing_it():
    memo = VersionedMemo(limit=50)
    failures = []

    def work(seed):
        try:
            for round_ in range(3000):
                name = (seed + round_) % 80
                memo.put(name, round_ % 3, round_)
                memo.get(name, round_ % 3)
                if round_ % 97 == 0:
                    memo.clear()
        except Exception as error:  # KeyError, RuntimeError: dict changed size
            failures.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(memo) <= 50


def test_the_memo_keeps_one_version_per_name():
    memo = VersionedMemo()
    memo.put("more_on_this", ("v1",), "old")
    memo.put("more_on_this", ("v2",), "new")
    assert memo.get("more_on_this", ("v1",)) is None
    assert memo.get("more_on_this", ("v2",)) == "new"
    assert len(memo) == 1


# A faster miss: what a page shows is kept per process by its keys' versions
# (articles/delivery/memo.py), so a miss fetches again only what changed.


@pytest.fixture
def full_story(newsroom):
    """The main story with everything its page can show: topic, person,
    byline, a related link, a correction and "More on this" (the sibling)."""
    main = newsroom["main"]
    main.related_links.create(
        title="Read the unrelated story", target=newsroom["other"]
    )
    main.corrections.create(text="An earlier version misspelt a name.")
    return main


def rename_topic(newsroom):
    topic = newsroom["main"].tags.get()
    topic.name = "Weather"
    topic.save()
    return "Weather"


def rename_author(newsroom):
    author = Author.objects.get(slug="grace")
    author.name = "Rear Admiral Hopper"
    author.save()
    return "Rear Admiral Hopper"


def new_body(newsroom):
    main = newsroom["main"]
    main.body = "<p>A rewritten body.</p>"
    main.save()
    return "A rewritten body."


def new_sibling_headline(newsroom):
    sibling = newsroom["sibling"]
    sibling.headline = "A sibling with a new headline"
    sibling.save()
    return "A sibling with a new headline"


def new_correction(newsroom):
    newsroom["main"].corrections.create(text="A second correction.")
    return "A second correction."


def new_story_on_the_topic(newsroom):
    story = whole_second_story(headline="Fresh story on the topic")
    story.tags.add(newsroom["main"].tags.get())
    story.people.add(Person.objects.get(slug="ada"))
    return "Fresh story on the topic"


@pytest.mark.parametrize(
    "change",
    [
        new_body,
        new_sibling_headline,
        rename_topic,
        rename_author,
        new_correction,
        new_story_on_the_topic,
    ],
)
def test_a_stale_article_page_is_made_again_in_five_queries_at_most(
    reader, full_story, newsroom, change, django_assert_max_num_queries
):
    url = full_story.get_absolute_url()
    warm(reader, [url])
    shown = change(newsroom)

    # The versions, and only what changed (at most: the story, one of its
    # attachments, "More on this" and the bylines of its cards).
    with django_assert_max_num_queries(5):
        response = reader.get(url)
    assert response["X-Cache"] == "MISS"
    assert shown in response.content.decode()

    # The same page as one made from nothing.
    keys.invalidate_pages()
    made_afresh = Client().get(url)
    assert made_afresh["X-Cache"] == "MISS"
    assert made_afresh.content == response.content


def test_a_story_with_a_new_topic_reads_the_versions_of_its_new_keys_too(
    reader, full_story, django_assert_num_queries
):
    url = full_story.get_absolute_url()
    warm(reader, [url])
    full_story.tags.add("Oceans")
    # The versions, the story, its topics and "More on this" (drawn from the
    # new topic too; its cards' bylines kept from the first page); then the
    # versions of the keys the stored page did not show (the new topic and
    # its list).
    with django_assert_num_queries(5):
        response = reader.get(url)
    assert response["X-Cache"] == "MISS"
    assert "Oceans" in response.content.decode()


def test_a_reader_with_a_session_cookie_costs_the_versions_and_the_session(
    reader, full_story, django_assert_num_queries
):
    url = full_story.get_absolute_url()
    warm(reader, [url])
    expected = reader.get(url).content
    reader.cookies["sessionid"] = "not-a-session"
    # Past the page cache, but nothing changed: the versions of what the
    # stored page shows, and the session (no one signed in).
    with django_assert_num_queries(2):
        response = reader.get(url)
    assert not response.has_header("X-Cache")
    assert response.content == expected
    # What depends on content only was drawn once, not again: metadata and
    # JSON-LD, the story, "More on this", the navigation and the footer.
    drawn = {template.name for template in response.templates}
    assert drawn == {
        "articles/article_detail.html",
        "base.html",
        "includes/search_form.html",
    }


def test_what_a_story_page_keeps_goes_with_a_restore(reader, full_story):
    url = full_story.get_absolute_url()
    warm(reader, [url])
    # A change no signal tells of (raw SQL, a restore): the site-wide token
    # ends every kept value, not only every stored page.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET headline = %s WHERE id = %s",
            ["Changed behind our back", full_story.pk],
        )
    keys.invalidate_pages()
    assert b"Changed behind our back" in reader.get(url).content


def no_stored_page(reader, url):
    """A page nobody asked for yet, in a fresh worker."""
    cache.clear()


def stale_stored_page(reader, url):
    """A stored page gone stale, asked of a fresh worker: nothing kept in its
    memory for it."""
    warm(reader, [url])
    keys.invalidate_pages()


@pytest.mark.parametrize("cold", [no_stored_page, stale_stored_page])
@pytest.mark.parametrize("links_and_corrections", [False, True])
def test_a_cold_article_page_is_made_in_five_queries_at_most(
    reader, newsroom, cold, links_and_corrections, django_assert_max_num_queries
):
    story = newsroom["main"]
    if links_and_corrections:
        story.related_links.create(title="Unrelated", target=newsroom["other"])
        story.corrections.create(text="An earlier version misspelt a name.")
    url = story.get_absolute_url()
    cold(reader, url)
    made_cold_in_five_queries(url, django_assert_max_num_queries)


def made_cold_in_five_queries(url, django_assert_max_num_queries):
    """The page asked of a worker with nothing in its memory: made in five
    queries at most, and the same as one drawn from what that request kept."""
    process_memo.clear()
    # The versions, and everything the page shows, with no stored page or
    # memo to draw on.
    with django_assert_max_num_queries(5):
        response = Client().get(url)
    assert response["X-Cache"] == "MISS"
    # The same page as one drawn from what the first request kept.
    keys.invalidate_pages()
    assert Client().get(url).content == response.content
    return response


@pytest.mark.parametrize("cold", [no_stored_page, stale_stored_page])
def test_a_cold_story_with_everything_a_page_shows_is_made_in_five_queries_at_most(
    reader, full_story, newsroom, cold, django_assert_max_num_queries
):
    # Its lead photo, a body linking to a published story and to a draft,
    # and a photo inline; with its topic, person, byline, related link,
    # correction and "More on this" (full_story).
    inline = make_image(caption="A flooded street", credit="A. Photographer")
    draft = make_article(slug="draft", status=Article.Status.DRAFT)
    full_story.lead_image = make_image(name="lead.jpg")
    full_story.body = (
        f'<p>See <a data-story="{newsroom["other"].pk}">the other story</a>'
        f' and <a data-story="{draft.pk}">a draft</a>.</p>'
        f'<figure data-image="{inline.pk}"></figure>'
    )
    full_story.save()
    url = full_story.get_absolute_url()
    cold(reader, url)
    response = made_cold_in_five_queries(url, django_assert_max_num_queries)
    page = response.content.decode()
    assert f'<a href="{newsroom["other"].get_absolute_url()}">the other story</a>' in (
        page
    )
    assert "A flooded street" in page
    assert 'href="/articles/draft/"' not in page
