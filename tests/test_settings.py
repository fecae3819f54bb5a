import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


DEFAULT_PRINT = (
    "import newsroom.settings as s; "
    "print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.ALLOWED_HOSTS)"
)


def load_settings(tmp_path, code=DEFAULT_PRINT, **env):
    """Import the real settings module in a fresh interpreter; code prints."""
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))
        and key not in ("SITE_URL", "PORT", "HOST", "NEWSROOM_UPLOAD_MAX_MB")
    }
    clean_env.update(NEWSROOM_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            code,
        ],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_secret_key_is_read_from_the_generated_file(tmp_path):
    (tmp_path / "secret_key").write_text("generated-once-by-make-run\n")
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False newsroom.sqlite_engine")


def test_debug_is_off_unless_asked_and_database_url_selects_postgres(tmp_path):
    result = load_settings(
        tmp_path,
        DJANGO_SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        DJANGO_ALLOWED_HOSTS="news.example.com, www.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "False django.db.backends.postgresql ['news.example.com', 'www.example.com']"
    )


SITE_URL_PRINT = "import newsroom.settings as s; print(s.SITE_URL)"


@pytest.mark.parametrize(
    "env, site_url",
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8080"}, "http://127.0.0.1:8080"),
        ({"HOST": "192.0.2.10", "PORT": "8080"}, "http://192.0.2.10:8080"),
        ({"HOST": "0.0.0.0", "PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"HOST": "::1"}, "http://[::1]:8000"),
        ({"PORT": "8080", "SITE_URL": "https://news.example.com/"}, None),
    ],
)
def test_site_url_follows_the_port_gunicorn_binds_unless_set(tmp_path, env, site_url):
    result = load_settings(tmp_path, SITE_URL_PRINT, DJANGO_SECRET_KEY="x" * 50, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (site_url or "https://news.example.com")


MB = 1024 * 1024
UPLOAD_PRINT = (
    "import newsroom.settings as s; from articles import images; "
    "print(s.UPLOAD_MAX_BYTES, images.MAX_UPLOAD_BYTES, s.REQUEST_MAX_BYTES)"
)


def test_one_upload_limit_in_megabytes_for_the_app_and_the_photo_check(tmp_path):
    code = "import django; django.setup(); " + UPLOAD_PRINT
    django = {"DJANGO_SETTINGS_MODULE": "newsroom.settings"}
    default = load_settings(tmp_path, code, DJANGO_SECRET_KEY="x" * 50, **django)
    assert default.returncode == 0, default.stderr
    assert default.stdout.split() == [str(20 * MB), str(20 * MB), str(21 * MB)]
    five = load_settings(
        tmp_path, code, DJANGO_SECRET_KEY="x" * 50, NEWSROOM_UPLOAD_MAX_MB="5", **django
    )
    assert five.stdout.split() == [str(5 * MB), str(5 * MB), str(6 * MB)]


@pytest.mark.parametrize("value", ["20MB", "0", "1.5"])
def test_a_bad_upload_limit_is_refused_with_its_name(tmp_path, value):
    result = load_settings(
        tmp_path, DJANGO_SECRET_KEY="x" * 50, NEWSROOM_UPLOAD_MAX_MB=value
    )
    assert result.returncode != 0
    assert "NEWSROOM_UPLOAD_MAX_MB must be" in result.stderr.strip().splitlines()[-1]
