"""Security headers on every response, the host check, and the login throttle."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.conftest import make_article, make_person, make_related_link
from tests.services import Site

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp_directives(header):
    return {
        name: sources
        for name, *sources in (
            directive.split() for directive in header.split(";") if directive.strip()
        )
    }


def assert_security_headers(headers, https=False):
    """headers: a response, or a dict with lower-case names."""

    def get(name):
        return (
            headers.get(name.lower())
            if isinstance(headers, dict)
            else (headers.headers.get(name))
        )

    for name, value in SECURITY_HEADERS.items():
        assert get(name) == value, name
    policy = csp_directives(get("Content-Security-Policy"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    if https:
        assert get("Strict-Transport-Security") == (
            "max-age=31536000; includeSubDomains; preload"
        )
    else:
        assert get("Strict-Transport-Security") is None


@pytest.mark.urls("tests.probe_urls")
def test_every_kind_of_response_carries_the_security_headers(db, admin_client):
    article = make_article()
    reader = Client(raise_request_exception=False)
    responses = {
        "static file": reader.get("/static/css/site.css"),
        "page (stored)": reader.get(article.get_absolute_url()),
        "page (from cache)": reader.get(article.get_absolute_url()),
        "home": reader.get("/"),
        "health": reader.get("/healthz"),
        "not found": reader.get("/articles/no-such-story/"),
        "unknown host": reader.get("/", HTTP_HOST="attacker.example"),
        "server error": reader.get("/probe/broken/"),
        "csrf failure": Client(enforce_csrf_checks=True).post("/admin/login/", {}),
        "redirect": reader.get("/admin/"),
        "admin login": reader.get("/admin/login/"),
        "admin page": admin_client.get("/admin/articles/article/"),
    }
    expected_status = {
        "not found": 404,
        "unknown host": 400,
        "server error": 500,
        "csrf failure": 403,
        "redirect": 302,
    }
    for kind, response in responses.items():
        assert response.status_code == expected_status.get(kind, 200), kind
        assert_security_headers(response)
    assert responses["page (from cache)"]["X-Cache"] == "HIT"


@pytest.mark.parametrize(
    "path", ["/", "/static/css/site.css", "/admin/login/", "/healthz"]
)
def test_unknown_host_gets_400(db, path):
    make_article()
    Client().get(path)  # a page may be in the cache: still refused
    assert Client().get(path, HTTP_HOST="attacker.example").status_code == 400
    assert Client().get(path, HTTP_HOST="localhost").status_code == 200


def test_cached_page_is_refused_to_an_unknown_host(db):
    article = make_article()
    assert Client().get(article.get_absolute_url())["X-Cache"] == "MISS"
    response = Client().get(article.get_absolute_url(), HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_https_adds_hsts_everywhere_and_redirects_plain_http(tmp_path, prepared_site):
    site = Site.from_prepared(
        tmp_path,
        prepared_site,
        DJANGO_HTTPS="1",
        SITE_URL="https://news.example.com",
        DJANGO_ALLOWED_HOSTS="news.example.com",
    )
    site.shell(
        "from articles.models import Article; Article.objects.create("
        "headline='Secure', slug='secure', body='Text.', status='published')"
    )
    via_proxy = {"Host": "news.example.com", "X-Forwarded-Proto": "https"}
    with site.server(workers=1) as server:
        for path, status in [
            ("/", 200),
            ("/articles/secure/", 200),
            ("/articles/secure/", 200),
            ("/static/css/site.css", 200),
            ("/admin/login/", 200),
            ("/articles/missing/", 404),
        ]:
            response = server.request(path, headers=via_proxy)
            assert response.status == status, path
            assert_security_headers(response.headers, https=True)
        plain = server.get("/articles/secure/", Host="news.example.com")
        assert plain.status == 301
        assert plain.headers["location"] == "https://news.example.com/articles/secure/"
        login = server.request("/admin/login/", headers=via_proxy)
        assert "secure" in login.headers["set-cookie"].lower()


INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I
)
INLINE_STYLE = re.compile(rb"<style\b|\sstyle=", re.I)
INLINE_HANDLER = re.compile(rb"\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(rb"=\s*[\"']?\s*javascript:", re.I)


def test_admin_and_reader_pages_need_no_inline_script_or_style(db, admin_client):
    """The policy allows neither: a page that needed them would break."""
    article = make_article()
    article.tags.add("Elections")
    person = make_person()
    article.people.add(person)
    make_related_link(article, target=make_article())
    pages = [
        "/admin/",
        "/admin/articles/article/",
        "/admin/articles/article/add/",
        f"/admin/articles/article/{article.pk}/change/",
        "/admin/articles/person/add/",
        "/admin/articles/topic/",
        "/admin/auth/user/",
        "/",
        article.get_absolute_url(),
        person.get_absolute_url(),
    ]
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER, JAVASCRIPT_URL):
            assert not pattern.search(response.content), (path, pattern.pattern)
    login = Client().get("/admin/login/")
    assert not INLINE_SCRIPT.search(login.content)


@pytest.fixture
def throttled(settings, db):
    settings.AXES_ENABLED = True
    User.objects.create_user("reporter", password="right-password-1", is_staff=True)
    User.objects.create_user("subeditor", password="right-password-2", is_staff=True)


def sign_in(username, password, address="198.51.100.7"):
    return Client(REMOTE_ADDR=address).post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
    )


def test_account_locks_after_five_failures_with_a_clear_message(throttled):
    for _ in range(4):
        assert sign_in("reporter", "wrong").status_code == 200  # form again
    locked = sign_in("reporter", "wrong")
    assert locked.status_code == 429
    assert b"Sign-in locked" in locked.content
    assert b"Try again in 15 minutes" in locked.content
    # Even the right password is refused while locked.
    assert sign_in("reporter", "right-password-1").status_code == 429


def test_a_stranger_cannot_lock_an_editor_out_from_elsewhere(throttled):
    stranger, editor_desk = "203.0.113.66", "192.0.2.50"
    for _ in range(5):
        sign_in("reporter", "wrong", address=stranger)
    locked = sign_in("reporter", "right-password-1", stranger)
    assert locked.status_code == 429
    # The editor, at their own desk, signs in as ever.
    assert sign_in("reporter", "right-password-1", editor_desk).status_code == 302


def test_failures_spread_over_addresses_lock_no_one(throttled):
    for number in range(5):
        sign_in("reporter", "wrong", address=f"203.0.113.{number + 1}")
    assert sign_in("reporter", "right-password-1", "192.0.2.50").status_code == 302


def test_lockout_page_names_the_commands_that_unlock(throttled):
    for _ in range(5):
        sign_in("reporter", "wrong")
    locked = sign_in("reporter", "right-password-1")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Signing in from another address still works." in page
    assert "python manage.py axes_reset_username reporter" in page
    assert "python manage.py axes_reset</code>" in page


def test_axes_reset_username_unlocks_the_account(throttled):
    for _ in range(5):
        sign_in("reporter", "wrong")
    assert sign_in("reporter", "right-password-1").status_code == 429
    call_command("axes_reset_username", "reporter", stdout=io.StringIO())
    assert sign_in("reporter", "right-password-1").status_code == 302


def test_a_shared_office_address_stays_open_to_other_accounts(throttled):
    office = "203.0.113.9"
    for _ in range(5):
        sign_in("reporter", "wrong", address=office)
    assert sign_in("reporter", "right-password-1", office).status_code == 429
    assert sign_in("subeditor", "right-password-2", office).status_code == 302


def test_address_behind_the_proxy_is_the_one_nginx_saw(throttled):
    def through_nginx(username, password, reader_address):
        return Client(REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP=reader_address).post(
            "/admin/login/", {"username": username, "password": password}
        )

    for _ in range(5):
        through_nginx("subeditor", "wrong", "203.0.113.20")
    locked = through_nginx("subeditor", "right-password-2", "203.0.113.20")
    assert locked.status_code == 429
    # Another reader behind the same proxy is not locked out with them.
    other = through_nginx("subeditor", "right-password-2", "203.0.113.21")
    assert other.status_code == 302
    # X-Real-IP from anyone but the proxy is ignored: no dodging the lock.
    spoofed = Client(REMOTE_ADDR="203.0.113.20", HTTP_X_REAL_IP="192.0.2.99").post(
        "/admin/login/", {"username": "subeditor", "password": "right-password-2"}
    )
    assert spoofed.status_code == 429


def test_lock_opens_again_after_its_window(throttled):
    for _ in range(5):
        sign_in("reporter", "wrong")
    assert sign_in("reporter", "right-password-1").status_code == 429
    later = timezone.now() + timedelta(minutes=16)
    with time_machine.travel(later, tick=False):
        assert sign_in("reporter", "right-password-1").status_code == 302
