"""/healthz, and what readers get while the database is away."""

import pytest
from django.test import Client

from tests.conftest import make_article
from tests.services import (
    POSTGRES_PORT,
    Site,
    TcpRelay,
    closed_port,
    database_url_via,
    drop_database,
    manage,
    require_postgres,
)
from tests.test_cache import redis_cache
from tests.test_multiprocess import CREATE, URL

CREATE_SECOND = """
from articles.models import Article
Article.objects.create(headline="Second story", slug="second", body="Text.",
                       status="published")
"""


def test_healthz_is_200_when_database_and_cache_answer(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-store" in response["Cache-Control"]


def test_healthz_is_200_and_pages_serve_while_redis_is_down(db, settings):
    # Pages are served uncached: the server stays in the load balancer.
    settings.CACHES = redis_cache(f"redis://127.0.0.1:{closed_port()}/10", "h10")
    make_article(slug="story", headline="Still here")

    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok, degraded: cache\n"
    assert "no-store" in response["Cache-Control"]
    for path in ("/", "/articles/story/"):
        page = Client().get(path)
        assert page.status_code == 200
        assert b"Still here" in page.content


def test_healthz_answers_plain_http_when_the_site_redirects_to_https(
    tmp_path, prepared_site
):
    site = Site.from_prepared(tmp_path, prepared_site, DJANGO_HTTPS="1")
    with site.server(workers=1) as server:
        health = server.get("/healthz")
        assert health.status == 200
        assert health.body == b"ok\n"
        # Everything else still goes to HTTPS.
        page = server.get(URL)
        assert page.status == 301
        assert page.headers["location"].startswith("https://")


def test_unreachable_database_gives_503_health_and_a_plain_503_page(
    tmp_path, prepared_site
):
    nowhere = f"postgres://postgres@127.0.0.1:{closed_port()}/newsroom"
    site = Site.from_prepared(tmp_path, prepared_site, database_url=nowhere)
    with site.server(workers=2) as server:
        health = server.get("/healthz")
        assert health.status == 503
        assert health.body == b"unavailable: database\n"
        assert "no-store" in health.headers["cache-control"]

        for path in ("/", URL):
            page = server.get(path)
            assert page.status == 503
            assert "Back in a moment" in page.text
            assert "Traceback" not in page.text
            assert "OperationalError" not in page.text
            assert page.headers["retry-after"] == "30"
            assert "no-store" in page.headers["cache-control"]
            assert "content-security-policy" in page.headers
        # Nor does a reader who is signed in, or an address nothing lives at.
        signed_in = {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}
        paths = ("/articles/nothing/", "/tags/nothing/", "/people/nothing/")
        for path, headers in [(URL, signed_in), *((path, {}) for path in paths)]:
            page = server.get(path, **headers)
            assert page.status == 503, path
            assert "Back in a moment" in page.text
        # Static files do not need the database.
        assert server.get("/static/css/site.css").status == 200


@pytest.fixture
def relayed_postgres(tmp_path, prepared_site):
    """A served PostgreSQL database reached through a relay the test can cut."""
    database_url = require_postgres()
    direct = Site.from_prepared(tmp_path, prepared_site, database_url=database_url)
    manage(direct.env, "migrate", "--noinput", "--verbosity", "0")
    direct.shell(CREATE)
    direct.shell(CREATE_SECOND)
    relay = TcpRelay(target_port=POSTGRES_PORT).start()
    relayed = {**direct.env, "DATABASE_URL": database_url_via(relay.port)}
    yield Site(relayed, tmp_path), relay
    relay.stop()
    drop_database(database_url)


def test_pages_come_back_by_themselves_when_the_database_returns(relayed_postgres):
    site, relay = relayed_postgres
    with site.server(workers=2) as server:
        assert server.get("/healthz").status == 200
        assert server.get(URL).status == 200  # now cached

        relay.stop()
        assert server.get("/healthz").status == 503
        assert server.get("/articles/second/").status == 503
        # A page already in the cache may still be served.
        cached = server.get(URL)
        assert cached.status == 200
        assert b"First headline" in cached.body
        assert cached.headers["x-cache"] == "STALE"

        relay.start()
        assert server.get("/healthz").status == 200
        for _ in range(4):
            assert server.get("/articles/second/").status == 200
        assert server.get(URL).headers["x-cache"] == "HIT"
