"""Readers never write to the database: a read-only database still serves pages.

Each test fills a real database, then serves reader pages from a fresh process
whose connection may only read: SQLite opened with mode=ro, PostgreSQL with
default_transaction_read_only. A story scheduled a moment ahead goes live
while it is read-only, so its publication cannot need a write either.
"""

import json
import time

import pytest

from tests.services import Site, drop_database, manage, require_postgres, run_python

SEED = """
from datetime import timedelta
from django.contrib.auth.models import User
from django.utils import timezone
from articles.models import Article, Person
person = Person.objects.create(name="Ada Lovelace", slug="ada-lovelace")
story = Article.objects.create(headline="Glacier melts", slug="glacier",
                               body="The glacier shrank.", status="published")
story.tags.add("Climate")
story.people.add(person)
soon = Article.objects.create(headline="Fjord freezes", slug="fjord", body="Ice.",
                              status="published",
                              published_at=timezone.now() + timedelta(seconds=4))
soon.tags.add("Climate")
User.objects.create_superuser("chief", "chief@example.com", "pw-chief-1")
"""

# Runs in its own process: the database is opened read-only before first use,
# then reader pages are asked for twice (the second time from the page cache),
# by an anonymous reader and by a signed-in editor.
SERVE = """
import json, sys
import django
django.setup()
from django.db import connection
from django.test import Client

from django.contrib.auth.models import User
editor = Client(HTTP_HOST="localhost")
editor.force_login(User.objects.get(username="chief"))  # writes: done beforehand
connection.close()
for name, value in json.loads(sys.argv[1]).items():
    if isinstance(value, dict):
        connection.settings_dict[name].update(value)
    else:
        connection.settings_dict[name] = value
paths = json.loads(sys.argv[2])
statuses = {}
for client in (Client(HTTP_HOST="localhost"), Client(HTTP_HOST="localhost"), editor):
    for path in paths:
        statuses.setdefault(path, []).append(client.get(path).status_code)
print(json.dumps(statuses))
"""

PAGES = [
    "/",
    "/articles/glacier/",
    "/articles/fjord/",
    "/tags/climate/",
    "/people/ada-lovelace/",
    "/feeds/rss/",
    "/tags/climate/feed/atom/",
    "/search/?q=glacier",
    "/sitemap.xml",
    "/healthz",
]


def serve_read_only(site, read_only):
    """Statuses of each page, asked for three times by a read-only process."""
    result = run_python(site.env, SERVE, json.dumps(read_only), json.dumps(PAGES))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_for_the_scheduled_story():
    time.sleep(5)


def assert_every_page_served(statuses):
    assert statuses == {path: [200, 200, 200] for path in PAGES}


def test_pages_serve_from_a_read_only_sqlite_database(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site)
    site.shell(SEED)
    wait_for_the_scheduled_story()
    database = tmp_path / "db.sqlite3"

    statuses = serve_read_only(site, {"NAME": f"file:{database}?mode=ro"})

    assert_every_page_served(statuses)


@pytest.fixture
def served_postgres(tmp_path, prepared_site):
    database_url = require_postgres()
    site = Site.from_prepared(tmp_path, prepared_site, database_url=database_url)
    manage(site.env, "migrate", "--noinput", "--verbosity", "0")
    yield site
    drop_database(database_url)


def test_pages_serve_from_a_read_only_postgresql_database(served_postgres):
    served_postgres.shell(SEED)
    wait_for_the_scheduled_story()
    read_only = {"OPTIONS": {"options": "-c default_transaction_read_only=on"}}

    statuses = serve_read_only(served_postgres, read_only)

    assert_every_page_served(statuses)
