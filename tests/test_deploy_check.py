"""Production configuration: Django's deploy checks, gunicorn, static files, nginx."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from tests.services import (
    ROOT,
    Nginx,
    Site,
    manage,
    require_nginx,
    run_python,
    site_env,
)
from tests.test_security import assert_security_headers, csp_directives

PRODUCTION = {
    "DJANGO_HTTPS": "1",
    "DJANGO_ALLOWED_HOSTS": "news.example.com",
    "SITE_URL": "https://news.example.com",
}


def deploy_check(tmp_path, **settings):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=site_env(tmp_path, **settings),
        capture_output=True,
        text=True,
    )


def test_deploy_check_is_clean_with_https_and_debug_off(tmp_path):
    result = deploy_check(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_without_https(tmp_path):
    result = deploy_check(tmp_path, DJANGO_ALLOWED_HOSTS="news.example.com")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012"):
        assert warning in result.stderr


def test_gunicorn_config_is_what_make_run_starts(tmp_path):
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/gunicorn --config gunicorn.conf.py newsroom.wsgi" in makefile
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]
        + ["--print-config", "newsroom.wsgi"],
        cwd=ROOT,
        env=site_env(tmp_path, WEB_CONCURRENCY="3", PORT="19099"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    config = dict(re.findall(r"^(\w+)\s*= (.*)$", result.stdout, re.MULTILINE))
    assert config["workers"] == "3"
    assert config["bind"] == "['127.0.0.1:19099']"
    # Off: the app logs each request itself, with its id (newsroom/request_log.py).
    assert config["accesslog"] == "None"
    assert config["preload_app"] == "True"
    assert int(config["max_requests"]) >= 10000
    assert int(config["max_requests_jitter"]) > 0
    assert int(config["graceful_timeout"]) > 0


CACHE_SIZE = (
    "import django; django.setup(); from django.db import connection; "
    "cursor = connection.cursor(); cursor.execute('PRAGMA cache_size'); "
    "print(cursor.fetchone()[0])"
)


@pytest.mark.processes
def test_web_workers_keep_a_small_sqlite_cache_and_commands_sqlites_own(
    tmp_path, prepared_site
):
    """Four connections per worker (gunicorn.conf.py) keep 256 KiB of pages
    each; a command, such as an import, keeps SQLite's 2,000 KiB."""
    site = Site.from_prepared(tmp_path, prepared_site)
    with site.server(workers=1, app="tests.probe_wsgi") as server:
        served = server.get("/probe/sqlite-cache-size/")
        optimize = server.get("/probe/python-optimize/")
    command = run_python(site.env, CACHE_SIZE)

    assert (served.status, served.text) == (200, "-256")
    assert command.stdout.strip() == "-2000", command.stderr
    # Without docstrings (python -OO), however gunicorn was started.
    assert (optimize.status, optimize.text) == (200, "2")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEWSROOM_SQLITE_CACHE_KIB", "256KiB"),
        ("NEWSROOM_SQLITE_CACHE_KIB", "0"),
        ("NEWSROOM_SQLITE_CACHED_STATEMENTS", "many"),
    ],
)
def test_a_bad_sqlite_cache_size_is_refused_with_its_name(tmp_path, name, value):
    result = run_python(site_env(tmp_path, **{name: value}), CACHE_SIZE)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"{name} must be" in last_line


@pytest.fixture
def production_site(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site)
    site.shell(
        "from articles.models import Article; Article.objects.create("
        "headline='Served', slug='served', body='Text.', status='published')"
    )
    return site


def hashed_name(site, name):
    manifest = json.loads((site.var_dir / "static" / "staticfiles.json").read_text())
    return manifest["paths"][name]


def test_hashed_static_files_are_immutable_for_a_year_and_precompressed(
    production_site,
):
    site = production_site
    hashed = hashed_name(site, "css/site.css")
    assert hashed != "css/site.css"
    for suffix in (".gz", ".br"):
        assert (site.var_dir / "static" / (hashed + suffix)).is_file()
    with site.server(workers=1) as server:
        response = server.get(f"/static/{hashed}", **{"Accept-Encoding": "br"})
        assert response.status == 200
        assert response.headers["cache-control"] == (
            "max-age=31536000, public, immutable"
        )
        assert response.headers["content-encoding"] == "br"
        assert_security_headers(response.headers)
        unhashed = server.get("/static/css/site.css")
        assert "immutable" not in unhashed.headers["cache-control"]


def test_nginx_serves_static_files_caches_public_pages_and_never_editors(
    production_site, tmp_path
):
    require_nginx()
    site = production_site
    hashed = hashed_name(site, "css/site.css")
    with (
        site.server(workers=2) as server,
        Nginx(server.port, site.var_dir, tmp_path / "nginx") as nginx,
    ):
        app_headers = server.get("/articles/served/").headers
        static = nginx.get(f"/static/{hashed}")
        assert static.status == 200
        assert static.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "server" in static.headers and "nginx" in static.headers["server"]
        assert not (site.var_dir / "server.log").read_text().count(hashed)
        # nginx repeats the app's security headers on the files it serves.
        assert csp_directives(static.headers["content-security-policy"]) == (
            csp_directives(app_headers["content-security-policy"])
        )
        assert_security_headers(static.headers, https=True)

        first = nginx.get("/articles/served/")
        second = nginx.get("/articles/served/")
        assert first.status == second.status == 200
        assert first.headers["x-proxy-cache"] == "MISS"
        assert second.headers["x-proxy-cache"] == "HIT"
        assert_security_headers(second.headers)

        editor = nginx.get("/articles/served/", Cookie="sessionid=editor-session")
        assert editor.headers["x-proxy-cache"] == "BYPASS"
        # Files nginx does not have go to the app (its 404 page).
        assert nginx.get("/static/missing.css").status == 404


def test_production_nginx_site_config_is_valid(tmp_path, prepared_site):
    nginx = require_nginx()
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=news.example.com"]
        + ["-keyout", str(tmp_path / "privkey.pem")]
        + ["-out", str(tmp_path / "fullchain.pem")],
        check=True,
        capture_output=True,
    )
    site = (ROOT / "deploy" / "nginx" / "newsroom.conf").read_text()
    # The upload limit comes only from the file `manage.py nginx_limits` writes.
    assert "client_max_body_size" not in site
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    manage(Site.from_prepared(var_dir, prepared_site).env, "nginx_limits")
    site = (
        site.replace("/etc/letsencrypt/live/news.example.com", str(tmp_path))
        .replace("/var/cache/nginx/newsroom", str(tmp_path / "cache"))
        .replace("/opt/newsroom/deploy", str(ROOT / "deploy"))
        .replace("/srv/newsroom/var", str(var_dir))
    )
    (tmp_path / "newsroom.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{ include /etc/nginx/mime.types; include {tmp_path}/newsroom.conf; }}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    dump = subprocess.run(
        [nginx, "-T", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
    ).stdout
    # A 20 MB photo and its form.
    assert re.findall(r"^client_max_body_size (\d+)m;$", dump, re.M) == ["21"]


@pytest.mark.processes
def test_without_site_url_links_use_the_port_gunicorn_binds(production_site):
    site = production_site
    assert "SITE_URL" not in site.env
    with site.server(workers=1) as server:
        page = server.get("/articles/served/").text
        origin = f"http://127.0.0.1:{server.port}"
        assert server.port != 8000
        assert f'<link rel="canonical" href="{origin}/articles/served/">' in page
        assert f'<meta property="og:url" content="{origin}/articles/served/">' in page
        feed = server.get("/feeds/rss/").text
        assert f"<link>{origin}/articles/served/</link>" in feed
        assert f"<loc>{origin}/" in server.get("/sitemap.xml").text


def test_migrate_invalidates_cached_pages(production_site):
    """A deploy runs migrate: pages made by the old templates must go."""
    site = production_site
    with site.server(workers=1) as server:
        assert server.get("/articles/served/").headers["x-cache"] == "MISS"
        assert server.get("/articles/served/").headers["x-cache"] == "HIT"
        manage(site.env, "migrate", "--noinput", "--verbosity", "0")
        assert server.get("/articles/served/").headers["x-cache"] == "MISS"
