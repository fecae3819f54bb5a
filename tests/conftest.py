import itertools
import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from articles.models import Article, Author, Byline, Person, RelatedLink

_sequence = itertools.count(1)


# Tests that start servers, browsers or other processes (marked by hand with
# @pytest.mark.processes, or by the fixtures they use). They test what the
# processes do, whichever database the suite runs on, so the PostgreSQL run of
# .ci/run leaves them to the SQLite run; `both_databases` keeps one in both.
PROCESS_FIXTURES = {"live_server", "page", "browser", "context"}


def _starts_processes(item):
    return item.get_closest_marker("processes") is not None or bool(
        PROCESS_FIXTURES & set(item.fixturenames)
    )


def _uses_database(item):
    return item.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(item.fixturenames)
    )


@pytest.hookimpl(tryfirst=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_marks(config, items):
    """NEWSROOM_TESTS=database keeps the tests worth repeating on another
    database: those that use it and start no process (unless marked
    both_databases). .ci/run sets it for its PostgreSQL run."""
    for item in items:
        if _starts_processes(item):
            item.add_marker(pytest.mark.processes)
    if os.environ.get("NEWSROOM_TESTS", "all") != "database":
        return
    kept, left = [], []
    for item in items:
        repeat = _uses_database(item) and (
            not _starts_processes(item)
            or item.get_closest_marker("both_databases") is not None
        )
        (kept if repeat else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_order(items):
    """Database tests first, transactional ones after them, as Django orders them.

    A transactional test (live_server, the browser tests) empties every table
    when it ends, so a plain database test run after it would miss the rows that
    migrations made, such as the Editors group. pytest-django sorts this way, but
    pytest then regroups tests around pytest-playwright's session-wide browser
    parameter; sorting again (stably) last restores Django's order.
    """

    def order(item):
        marker = item.get_closest_marker("django_db")
        if (marker and marker.kwargs.get("transaction")) or {
            "transactional_db",
            "live_server",
        } & set(item.fixturenames):
            return 1
        if marker or "db" in item.fixturenames:
            return 0
        return 2

    items.sort(key=order)


def make_article(**fields):
    """A published article unless told otherwise; unique headline and slug."""
    number = next(_sequence)
    defaults = {
        "headline": f"Story number {number}",
        "slug": f"story-number-{number}",
        "standfirst": f"The standfirst of story {number}.",
        "body": "First paragraph.\n\nSecond paragraph.",
        "status": Article.Status.PUBLISHED,
        # Each a second older than the last: never days old however many tests
        # ran before (date-sensitive tests would otherwise depend on test order).
        "published_at": timezone.now() - timedelta(seconds=number),
    }
    defaults.update(fields)
    return Article.objects.create(**defaults)


def make_person(**fields):
    number = next(_sequence)
    defaults = {"name": f"Person {number}", "slug": f"person-{number}"}
    defaults.update(fields)
    return Person.objects.create(**defaults)


def make_author(**fields):
    number = next(_sequence)
    defaults = {"name": f"Author {number}", "slug": f"author-{number}"}
    defaults.update(fields)
    return Author.objects.create(**defaults)


def credit(article, *authors):
    """Put these authors on the article's byline, in this order."""
    for position, author in enumerate(authors, start=1):
        Byline.objects.create(article=article, author=author, position=position)


def make_related_link(article, **fields):
    number = next(_sequence)
    defaults = {"title": f"Related story {number}", "position": number}
    defaults.update(fields)
    return RelatedLink.objects.create(article=article, **defaults)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("chief", "chief@example.com", "pw-chief-1")


@pytest.fixture
def editor(db):
    user = User.objects.create_user(
        "editor", "editor@example.com", "pw-editor-1", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path_factory):
    """Every test stores uploads in a folder of its own, never in var/media."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")
    return settings.MEDIA_ROOT


@pytest.fixture(scope="session")
def prepared_site(tmp_path_factory):
    """Collected static files and a migrated SQLite database for tests that
    start real servers (tests/services.py), made once a run."""
    from tests.services import prepare_site

    return prepare_site(tmp_path_factory.mktemp("prepared-site"))


@pytest.fixture
def without_page_cache(settings):
    """For tests of what the views themselves do (queries, ETags): the page cache
    in front of them would answer instead. tests/test_cache.py tests the cache."""
    settings.PAGE_CACHE_ENABLED = False
