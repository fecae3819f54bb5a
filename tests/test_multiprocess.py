"""Real gunicorn servers with several workers: a change made in another process
shows on the very next request, whichever worker or server answers it."""

import secrets
import sqlite3

import pytest

from tests.services import (
    Browser,
    Site,
    delete_redis_keys,
    drop_database,
    manage,
    require_postgres,
    require_redis,
)

URL = "/articles/breaking/"
CREATE = """
from articles.models import Article
from django.contrib.auth.models import User
Article.objects.create(headline="First headline", slug="breaking", body="Text.",
                       status="published")
User.objects.create_superuser("chief", "chief@example.com", "pw-chief-1")
"""
EDIT = """
from articles.models import Article
article = Article.objects.get(slug="breaking")
article.headline = {headline!r}
article.status = "published"
article.save()
"""
BULK_EDIT = """
from articles.models import Article
Article.objects.filter(slug="breaking").update(headline={headline!r})
"""
INVALIDATE = "from articles.cache import invalidate_pages; invalidate_pages()"


pytestmark = pytest.mark.processes


@pytest.fixture
def site(tmp_path, prepared_site):
    """A production-like site on a fresh SQLite file with the default cache."""
    site = Site.from_prepared(tmp_path, prepared_site)
    site.shell(CREATE)
    return site


def test_change_by_a_management_command_shows_on_every_worker_at_once(site):
    with site.server() as server:
        assert server.get(URL).headers["x-cache"] == "MISS"
        for _ in range(6):
            response = server.get(URL)
            assert response.headers["x-cache"] == "HIT"
            assert b"First headline" in response.body

        site.shell(EDIT, headline="Second headline")
        for _ in range(12):
            response = server.get(URL)
            assert response.status == 200
            assert b"Second headline" in response.body
    assert len(server.worker_pids()) >= 2


def test_workers_share_one_cache_that_invalidate_pages_clears(site):
    with site.server() as server:
        server.get(URL)
        # A bulk update sends no signals: every worker keeps serving the
        # stored page, which shows the cache is shared, not per process...
        site.shell(BULK_EDIT, headline="Bulk headline")
        for _ in range(8):
            response = server.get(URL)
            assert response.headers["x-cache"] == "HIT"
            assert b"First headline" in response.body
        # ...until the importer's closing call, from yet another process.
        site.shell(INVALIDATE)
        for _ in range(8):
            assert b"Bulk headline" in server.get(URL).body
    assert len(server.worker_pids()) >= 2


def test_flushed_or_restored_database_never_gets_pages_of_other_data(site):
    backup = site.var_dir / "backup.sqlite3"
    live = site.var_dir / "db.sqlite3"
    with site.server() as server:
        assert b"First headline" in server.get(URL).body
        with sqlite3.connect(live) as source, sqlite3.connect(backup) as copy:
            source.backup(copy)

        site.shell(EDIT, headline="Second headline")
        assert b"Second headline" in server.get(URL).body
        assert server.get(URL).headers["x-cache"] == "HIT"

        # Restoring the backup brings back the old story, not the cached page.
        with sqlite3.connect(backup) as copy, sqlite3.connect(live) as target:
            copy.backup(target)
        response = server.get(URL)
        assert b"First headline" in response.body
        assert b"Second headline" not in response.body

        manage(site.env, "flush", "--noinput")
        for _ in range(6):
            assert server.get(URL).status == 404


@pytest.fixture
def shared_services(tmp_path, prepared_site):
    """One PostgreSQL database and one Redis, as several app servers share them."""
    redis_url = require_redis()
    database_url = require_postgres()
    prefix = f"h10-test-{secrets.token_hex(4)}"
    site = Site.from_prepared(
        tmp_path,
        prepared_site,
        database_url=database_url,
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=prefix,
    )
    manage(site.env, "migrate", "--noinput", "--verbosity", "0")
    site.shell(CREATE)
    yield site
    delete_redis_keys(redis_url, prefix)
    drop_database(database_url)


def test_two_servers_sharing_redis_and_postgres_see_each_others_changes(
    shared_services,
):
    site = shared_services
    with site.server("a") as server_a, site.server("b") as server_b:
        assert server_a.get(URL).headers["x-cache"] == "MISS"
        # Stored by server A, served by server B: one cache for both.
        assert server_b.get(URL).headers["x-cache"] == "HIT"

        # An editor unpublishes the story through server B's admin...
        editor = Browser(server_b)
        editor.sign_in("chief", "pw-chief-1")
        changelist = "/admin/articles/article/"
        token = editor.form_token(changelist)
        response = editor.request(
            changelist,
            "POST",
            {
                "csrfmiddlewaretoken": token,
                "action": "unpublish",
                "_selected_action": "1",
                "confirm": "yes",  # the action's confirmation page, answered
            },
        )
        assert response.status == 302
        # ...and every worker of server A knows on the next request.
        for _ in range(6):
            assert server_a.get(URL).status == 404

        # A management command against the same database reaches both servers.
        site.shell(EDIT, headline="Back online")
        for server in (server_a, server_b, server_a, server_b):
            response = server.get(URL)
            assert response.status == 200
            assert b"Back online" in response.body
    assert len(server_a.worker_pids()) >= 2
