"""Varnish (deploy/varnish/default.vcl) in front of a live server: a change is
purged there by its keys within a second; pages it does not touch stay cached."""

import time

from tests.services import Site, Varnish, free_port, require_varnishd

CREATE = """
from articles.models import Article
for slug in ("edited", "untouched"):
    Article.objects.create(headline=f"{{slug}} first", slug=slug, body="Text.",
                           status="published")
"""
EDIT = """
from articles.models import Article
article = Article.objects.get(slug="edited")
article.headline = "edited second"
article.save()
"""


def varnish_hit(response):
    # X-Varnish holds two transaction ids on a hit, one on a miss.
    return len(response.headers["x-varnish"].split()) == 2


def test_a_change_is_purged_at_varnish_and_other_pages_stay_cached(
    tmp_path, prepared_site
):
    require_varnishd()
    varnish_port = free_port()
    purge_url = f"http://127.0.0.1:{varnish_port}/"
    site = Site.from_prepared(tmp_path, prepared_site, PURGE_URL=purge_url)
    site.shell(CREATE)
    server = site.server(workers=2)
    with server, Varnish(server.port, tmp_path / "varnish", varnish_port) as varnish:
        for path in ("/articles/edited/", "/articles/untouched/", "/"):
            assert not varnish_hit(varnish.get(path))
            again = varnish.get(path)
            assert varnish_hit(again), path
            assert again.headers["x-varnish-cache"] == "HIT"
            assert "surrogate-key" not in again.headers
        assert "s-maxage=86400" in again.headers["cache-control"]
        assert varnish_hit(varnish.get("/?utm_source=newsletter"))

        site.shell(EDIT)  # another process, as an editor's save would be
        deadline = time.monotonic() + 1.0
        while True:
            edited = varnish.get("/articles/edited/")
            if b"edited second" in edited.body or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert b"edited second" in edited.body
        assert not varnish_hit(edited)
        assert b"edited second" in varnish.get("/").body  # the card's headline

        untouched = varnish.get("/articles/untouched/")
        assert varnish_hit(untouched)
        assert int(untouched.headers["age"]) >= 0
        assert b"untouched first" in untouched.body
