import os
import subprocess
import sys
from pathlib import Path

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
    assert result.stdout.startswith("False django.db.backends.sqlite3")


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
