"""The page cache: what is stored, what is never stored, and when it goes stale."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from articles.delivery import keys
from articles.delivery.keys import current_generation, invalidate_pages, version_of
from articles.models import Article, Topic
from tests.conftest import make_article, make_person, make_related_link
from tests.services import closed_port, delete_redis_keys, require_redis

SEED = Path(__file__).resolve().parent.parent / "fixtures/articles"


@pytest.fixture
def reader():
    """An anonymous reader: no session cookie."""
    return Client()


def test_anonymous_article_page_is_stored_then_served_from_the_cache(
    db, reader, django_assert_num_queries
):
    article = make_article(headline="Cabinet meets at dawn")
    first = reader.get(article.get_absolute_url())
    assert first.status_code == 200
    assert first["X-Cache"] == "MISS"

    # A hit costs one query: the generation token. No session, no view.
    with django_assert_num_queries(1):
        second = reader.get(article.get_absolute_url())
    assert second["X-Cache"] == "HIT"
    assert second.content == first.content
    assert b"Cabinet meets at dawn" in second.content


@pytest.mark.parametrize("page", ["home", "topic", "person"])
def test_home_topic_and_person_pages_are_cached(db, reader, page):
    article = make_article()
    person = make_person()
    article.people.add(person)
    article.tags.add("Elections")
    url = {
        "home": "/",
        "topic": article.tags.get().get_absolute_url(),
        "person": person.get_absolute_url(),
    }[page]
    assert reader.get(url)["X-Cache"] == "MISS"
    assert reader.get(url)["X-Cache"] == "HIT"


def test_cached_pages_tell_browsers_and_proxies_how_long_to_keep_them(db, reader):
    article = make_article()
    for response in (
        reader.get(article.get_absolute_url()),
        reader.get(article.get_absolute_url()),
    ):
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert "public" in cache_control
        assert "max-age=30" in cache_control
        assert "s-maxage=60" in cache_control
        assert "stale-while-revalidate=30" in cache_control
        assert response.has_header("ETag")


def test_head_request_is_answered_from_the_cached_page(db, reader):
    article = make_article()
    reader.get(article.get_absolute_url())
    response = reader.head(article.get_absolute_url())
    assert response.status_code == 200
    assert response["X-Cache"] == "HIT"
    assert response.content == b""


def test_matching_conditional_request_gets_304_from_the_cache(
    db, reader, django_assert_num_queries
):
    article = make_article()
    etag = reader.get(article.get_absolute_url())["ETag"]
    with django_assert_num_queries(1):
        response = reader.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response["ETag"] == etag
    assert response.content == b""
    other = reader.get(article.get_absolute_url(), HTTP_IF_NONE_MATCH='"other"')
    assert other.status_code == 200


def test_saving_an_article_shows_on_the_very_next_request(db, reader):
    article = make_article(headline="First version")
    assert b"First version" in reader.get(article.get_absolute_url()).content
    article.headline = "Corrected version"
    article.save()
    response = reader.get(article.get_absolute_url())
    assert response["X-Cache"] == "MISS"
    assert b"Corrected version" in response.content


def test_editor_publishing_and_unpublishing_in_the_admin_shows_at_once(
    reader, editor_client
):
    article = make_article(headline="Embargoed story", status=Article.Status.DRAFT)
    assert reader.get(article.get_absolute_url()).status_code == 404
    assert b"Embargoed story" not in reader.get("/").content  # now cached

    changelist = "/admin/articles/article/"
    editor_client.post(
        changelist,
        {"action": "publish", "_selected_action": article.pk, "confirm": "yes"},
    )
    assert reader.get(article.get_absolute_url()).status_code == 200
    assert b"Embargoed story" in reader.get("/").content

    editor_client.post(
        changelist,
        {"action": "unpublish", "_selected_action": article.pk, "confirm": "yes"},
    )
    assert reader.get(article.get_absolute_url()).status_code == 404
    assert b"Embargoed story" not in reader.get("/").content


def test_deleting_an_article_in_the_admin_removes_it_at_once(reader, superuser_client):
    article = make_article(headline="Story to retract")
    assert reader.get(article.get_absolute_url()).status_code == 200
    assert b"Story to retract" in reader.get("/").content

    superuser_client.post(
        f"/admin/articles/article/{article.pk}/delete/", {"post": "yes"}
    )
    assert not Article.objects.filter(pk=article.pk).exists()
    assert reader.get(article.get_absolute_url()).status_code == 404
    assert b"Story to retract" not in reader.get("/").content


def test_queryset_update_shows_at_once(db, reader):
    article = make_article(headline="Imported once")
    reader.get(article.get_absolute_url())
    # QuerySet.update() sends no signals; the QuerySet bumps the keys itself.
    Article.objects.filter(pk=article.pk).update(headline="Imported twice")
    assert b"Imported twice" in reader.get(article.get_absolute_url()).content


def test_raw_sql_is_visible_once_invalidate_pages_is_called(db, reader):
    article = make_article(headline="Imported once")
    reader.get(article.get_absolute_url())
    # Raw SQL tells nobody: the page is stale until invalidate_pages().
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE articles_article SET headline = %s WHERE id = %s",
            ["Imported twice", article.pk],
        )
    assert b"Imported once" in reader.get(article.get_absolute_url()).content
    invalidate_pages()
    assert b"Imported twice" in reader.get(article.get_absolute_url()).content


def test_renaming_a_topic_or_person_and_new_memberships_show_at_once(db, reader):
    article = make_article(headline="Summit ends")
    article.tags.add("Diplomacy")
    topic = article.tags.get()
    person = make_person(name="Ana Example")
    assert b"Summit ends" not in reader.get(person.get_absolute_url()).content
    assert reader.get(topic.get_absolute_url())["X-Cache"] == "MISS"

    article.people.add(person)  # m2m_changed
    assert b"Summit ends" in reader.get(person.get_absolute_url()).content
    person.name = "Ana Renamed"
    person.save()
    assert b"Ana Renamed" in reader.get(person.get_absolute_url()).content
    topic.name = "Foreign affairs"
    topic.save()
    assert b"Foreign affairs" in reader.get(topic.get_absolute_url()).content


@pytest.mark.parametrize(
    "change",
    [
        lambda article: article.tags.add("Weather"),
        lambda article: article.tags.clear(),
        lambda article: article.people.add(make_person()),
        lambda article: make_related_link(article),
        lambda article: article.related_links.all().delete(),
        lambda article: Topic.objects.filter(
            tagged_articles__content_object=article
        ).update(name="Renamed"),
    ],
    ids=["tag", "untag", "person", "link", "unlink", "rename-topic"],
)
def test_every_content_change_reaches_the_article_page(db, reader, change):
    article = make_article()
    article.tags.add("Politics")
    make_related_link(article)
    url = article.get_absolute_url()
    assert reader.get(url)["X-Cache"] == "MISS"
    assert reader.get(url)["X-Cache"] == "HIT"
    change(article)
    assert reader.get(url)["X-Cache"] == "MISS"


def test_scheduled_article_appears_when_its_time_comes(db, reader):
    publish_at = timezone.now() + timedelta(hours=1)
    make_article(headline="Scheduled story", published_at=publish_at)
    assert b"Scheduled story" not in reader.get("/").content
    assert reader.get("/")["X-Cache"] == "HIT"
    with time_machine.travel(publish_at + timedelta(seconds=1), tick=False):
        assert b"Scheduled story" in reader.get("/").content


def test_logged_in_staff_are_never_served_from_the_cache_nor_stored(db, editor_client):
    article = make_article()
    url = article.get_absolute_url()
    staff = editor_client.get(url)
    assert staff.status_code == 200
    assert staff["Cache-Control"] == "private, no-store"
    assert not staff.has_header("X-Cache")
    # The staff response was not stored: the first anonymous reader misses.
    assert Client().get(url)["X-Cache"] == "MISS"
    assert Client().get(url)["X-Cache"] == "HIT"
    # And a stored page is not handed to staff.
    assert not editor_client.get(url).has_header("X-Cache")


@pytest.mark.urls("tests.probe_urls")
@pytest.mark.parametrize(
    "path",
    [
        "/probe/private/?q=%3Cscript%3E",
        "/probe/never-cached/",
        "/probe/sets-cookie/",
        "/probe/varies-on-language/",
    ],
)
def test_private_no_store_cookie_setting_or_varying_responses_are_never_stored(
    db, reader, path
):
    first = reader.get(path)
    second = reader.get(path)
    assert first.status_code == second.status_code == 200
    assert not first.has_header("X-Cache")
    assert not second.has_header("X-Cache")


@pytest.mark.urls("tests.probe_urls")
def test_plain_probe_is_stored_so_the_refusals_above_mean_something(db, reader):
    assert reader.get("/probe/plain/")["X-Cache"] == "MISS"
    assert reader.get("/probe/plain/")["X-Cache"] == "HIT"


def test_request_with_a_session_cookie_is_not_served_from_the_cache(db, reader):
    article = make_article()
    reader.get(article.get_absolute_url())
    reader.cookies["sessionid"] = "not-a-real-session"
    response = reader.get(article.get_absolute_url())
    assert response.status_code == 200
    assert not response.has_header("X-Cache")


def test_admin_and_health_check_are_never_cached(db, reader):
    for path in ("/admin/login/", "/healthz"):
        reader.get(path)
        response = reader.get(path)
        assert response.status_code == 200
        assert not response.has_header("X-Cache")
        assert "no-store" in response["Cache-Control"]


def test_query_strings_pages_do_not_read_share_one_entry(db, reader):
    make_article()
    assert reader.get("/")["X-Cache"] == "MISS"
    assert reader.get("/?utm_source=feed")["X-Cache"] == "HIT"
    assert reader.get("/?fbclid=x&utm_medium=social")["X-Cache"] == "HIT"


def test_page_numbers_are_part_of_the_key(db, reader):
    for _ in range(21):
        make_article()
    assert reader.get("/")["X-Cache"] == "MISS"
    second = reader.get("/?page=2&utm_source=feed")
    assert second["X-Cache"] == "MISS"
    assert second.content != reader.get("/").content
    assert reader.get("/?utm_source=x&page=2")["X-Cache"] == "HIT"


def redis_cache(location, prefix):
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_redis_that_is_down_gives_uncached_200s(db, reader, settings):
    settings.CACHES = redis_cache(
        f"redis://127.0.0.1:{closed_port()}/10", "h10-down-test"
    )
    article = make_article(headline="Still readable")
    for _ in range(3):
        response = reader.get(article.get_absolute_url())
        assert response.status_code == 200
        assert b"Still readable" in response.content
        assert response["X-Cache"] == "MISS"


def test_pages_are_shared_through_redis_when_configured(db, reader, settings):
    redis_url = require_redis()
    prefix = f"h10-cache-test-{os.getpid()}"
    settings.CACHES = redis_cache(redis_url, prefix)
    article = make_article()
    try:
        assert reader.get(article.get_absolute_url())["X-Cache"] == "MISS"
        second = reader.get(article.get_absolute_url())
        assert second["X-Cache"] == "HIT"
        assert second.status_code == 200
    finally:
        delete_redis_keys(redis_url, prefix)


@pytest.mark.django_db
def test_an_imported_file_bumps_its_keys_once_inside_its_transaction():
    from django.test.utils import CaptureQueriesContext

    before = current_generation()
    with CaptureQueriesContext(connection) as queries:
        call_command("import_articles", str(SEED), verbosity=0)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if "articles_page" in q["sql"] and not q["sql"].startswith("SELECT")
    ]
    # One upsert of the file's keys, one count on the site row.
    assert len(writes) == 2, writes
    imported = Article.objects.get()
    assert version_of(keys.article(imported.pk)) != ""
    # Only a deploy or a restore moves the site-wide token.
    assert current_generation() == before


@pytest.mark.django_db
def test_an_import_keeps_the_deadline_of_the_next_scheduled_story():
    """An import bumps keys without looking up the next publication (it never
    schedules a story): the deadline set before it must stay."""
    later = timezone.now() + timedelta(minutes=5)
    make_article(headline="Scheduled", published_at=later)
    deadline = keys.read(()).deadline

    call_command("import_articles", str(SEED), verbosity=0)

    assert keys.read(()).deadline == deadline
    assert abs(deadline - later.timestamp()) < 1


@pytest.mark.django_db
def test_an_import_into_a_flushed_generation_table_starts_one():
    from articles.models import PageGeneration

    keys.forget_generation()
    call_command("import_articles", str(SEED), verbosity=0)
    assert PageGeneration.objects.count() == 1


@pytest.mark.django_db
def test_no_cache_lifetime_outlives_the_next_scheduled_story(reader):
    make_article(headline="Now")
    make_article(headline="Later", published_at=timezone.now() + timedelta(seconds=45))

    for attempt in ("stored", "served from the cache"):
        response = reader.get("/")
        assert response.status_code == 200, attempt
        directives = dict(
            part.strip().partition("=")[::2]
            for part in response["Cache-Control"].split(",")
        )
        assert 40 <= int(directives["s-maxage"]) <= 45, attempt
        assert int(directives["max-age"]) <= 45, attempt
        assert directives["stale-while-revalidate"] == "0", attempt
    assert response["X-Cache"] == "HIT"


@pytest.mark.django_db
def test_page_validators_follow_every_change_when_remembered_per_generation():
    # A session cookie bypasses the page cache: the view answers, with the
    # fingerprint it remembers for the current content generation.
    bypass = Client()
    bypass.cookies["sessionid"] = "not-logged-in"
    article = make_article(headline="First words")
    url = article.get_absolute_url()

    first = bypass.get(url)["ETag"]
    assert bypass.get(url)["ETag"] == first
    assert bypass.get(url, HTTP_IF_NONE_MATCH=first).status_code == 304

    article.people.add(make_person(name="Someone New"))
    second = bypass.get(url)["ETag"]
    assert second != first

    article.headline = "Second words"
    article.save()
    assert bypass.get(url)["ETag"] not in (first, second)


@pytest.mark.django_db
def test_more_on_this_remembered_per_generation_shows_a_new_story_at_once():
    bypass = Client()
    bypass.cookies["sessionid"] = "not-logged-in"
    article = make_article(headline="Main story")
    article.tags.add("Belarus")
    assert b"Fresh related story" not in bypass.get(article.get_absolute_url()).content

    related = make_article(headline="Fresh related story")
    related.tags.add("Belarus")
    assert b"Fresh related story" in bypass.get(article.get_absolute_url()).content
