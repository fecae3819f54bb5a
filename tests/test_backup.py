"""manage.py backup and restore, run as an operator runs them: in their own
processes, on a site that serves readers and imports stories meanwhile."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import threading
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command

from tests.services import ROOT, Site, drop_database, manage, site_env
from tests.test_importer import SEED, story
from tests.test_importer_images import photo_bytes

POSTGRES_URL = os.environ.get("DATABASE_URL", "")
if not POSTGRES_URL.startswith("postgres"):
    POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Everything the site holds, as dumpdata writes it; not the page-cache token,
# which every write changes and a restore renews.
# Not the page cache's versions, nor an import run's counts and state, which move
# as it goes (its files' rows only grow, and are compared).
CONTENT = ["articles", "taggit", "reversion", "auth.user"]
CONTENT += ["--exclude", "articles.pagegeneration", "--exclude", "articles.pagekey"]
CONTENT += ["--exclude", "articles.importrun"]


BACKUP_ON_REQUEST = """
import sys
from django.core.management import call_command
sys.stdin.readline()
call_command("backup", "{folder}")
"""


def seed_site(env, folder):
    """The seed story with its photo, and the people and topics it names."""
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    (folder / SEED.with_suffix(".jpg").name).write_bytes(photo_bytes())
    manage(env, "load_vocabulary", ROOT / "fixtures/people.json")
    manage(env, "load_vocabulary", ROOT / "fixtures/topics.json")
    manage(env, "import_articles", folder)


def contents(env):
    """The site's stories, people, topics, revisions and photos' rows."""
    rows = json.loads(manage(env, "dumpdata", *CONTENT, "--indent", "0"))
    return {json.dumps(row, sort_keys=True) for row in rows}


def media_files(env):
    folder = Path(env.get("MEDIA_ROOT") or Path(env["NEWSROOM_VAR_DIR"]) / "media")
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).digest()
        for path in folder.rglob("*")
        if path.is_file()
    }


def story_count(var_dir):
    with sqlite3.connect(f"file:{var_dir / 'db.sqlite3'}?mode=ro", uri=True) as db:
        return db.execute("SELECT COUNT(*) FROM articles_article").fetchone()[0]


def run_manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def the_archive(folder):
    (archive,) = folder.glob("newsroom-*.tar.gz")
    return archive


class Reader(threading.Thread):
    """Asks for the home page and a story until told to stop."""

    def __init__(self, server, path):
        super().__init__(daemon=True)
        self.server, self.path = server, path
        self.statuses = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            for path in ("/", self.path):
                self.statuses.append(self.server.get(path).status)


def test_sqlite_backup_while_serving_and_importing_restores_into_a_fresh_site(
    tmp_path, prepared_site
):
    (tmp_path / "site").mkdir()
    site = Site.from_prepared(tmp_path / "site", prepared_site)
    seed_site(site.env, tmp_path / "seed")
    before_import = contents(site.env)
    seed_media = media_files(site.env)
    assert len(seed_media) > 1  # the photo and its renditions
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    for number in range(80):
        (incoming / f"wire-{number:03}.txt").write_text(
            story(headline=f"Wire story {number}", caption="A photo. AP")
        )
        (incoming / f"wire-{number:03}.jpg").write_bytes(photo_bytes(size=(800, 600)))
    backups = tmp_path / "backups"
    backups.mkdir()

    # Django loaded and waiting, so the copy starts the moment it is asked to.
    backing_up = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c"]
        + [BACKUP_ON_REQUEST.format(folder=backups)],
        cwd=ROOT,
        env=site.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    with site.server(workers=2) as server:
        reader = Reader(server, "/")
        reader.start()
        importing = subprocess.Popen(
            # Small batches: stories land while the backup runs, not all at
            # the end (the command's default batch holds all 80).
            [sys.executable, "manage.py", "import_articles", "--batch-size", "4"]
            + [str(incoming)],
            cwd=ROOT,
            env=site.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        while story_count(site.var_dir) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        backup_output, backup_errors = backing_up.communicate("go\n", timeout=120)
        import_went_on = importing.poll() is None
        _, import_errors = importing.communicate(timeout=300)
        reader.stopping.set()
        reader.join()

    assert backing_up.returncode == 0, backup_errors
    assert "wrote " in backup_output
    assert importing.returncode == 0, import_errors
    assert import_went_on, "the import ended before the backup: make it longer"
    assert reader.statuses and set(reader.statuses) == {200}
    fresh = site_env(tmp_path / "restored")
    (tmp_path / "restored").mkdir()

    output = manage(fresh, "restore", the_archive(backups))

    assert output.startswith("restored ")
    restored, after_import = contents(fresh), contents(site.env)
    # One moment of the import: all that was there before, some of what it
    # added (each story whole, with its revision), nothing else.
    assert before_import < restored < after_import
    restored_media = media_files(fresh)
    assert seed_media.items() <= restored_media.items()
    assert restored_media.items() <= media_files(site.env).items()
    stories = json.loads(
        manage(fresh, "dumpdata", "articles.article", "articles.image")
    )
    photos = {
        row["fields"]["file"] for row in stories if row["model"] == "articles.image"
    }
    assert photos and photos <= restored_media.keys()
    versions = json.loads(manage(fresh, "dumpdata", "reversion.version"))
    versioned = {row["fields"]["object_id"] for row in versions}
    for row in stories:
        if row["model"] == "articles.article":
            assert str(row["pk"]) in versioned  # its import's revision came too


@pytest.fixture
def postgres_databases():
    """Two new, empty databases named after this run; dropped after."""
    psycopg = pytest.importorskip("psycopg")
    parts = urlsplit(POSTGRES_URL)
    admin = parts._replace(path="/postgres").geturl()
    names = [f"ops_install_backup_{os.getpid()}_{side}" for side in ("from", "to")]
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL at {admin} is not reachable: {error}")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed (Debian package postgresql-client)")
    urls = [parts._replace(path=f"/{name}").geturl() for name in names]
    yield urls
    for url in urls:
        drop_database(url)


def test_postgresql_backup_restores_into_another_database(tmp_path, postgres_databases):
    source_url, target_url = postgres_databases
    (tmp_path / "source").mkdir()
    (tmp_path / "target").mkdir()
    source = site_env(tmp_path / "source", DATABASE_URL=source_url)
    target = site_env(tmp_path / "target", DATABASE_URL=target_url)
    manage(source, "migrate", "--noinput", "--verbosity", "0")
    seed_site(source, tmp_path / "seed")
    backups = tmp_path / "backups"
    backups.mkdir()

    manage(source, "backup", backups, "--keep", "3")
    stray = tmp_path / "target" / "media" / "stray.jpg"
    stray.parent.mkdir()
    stray.write_bytes(b"not from the backup")
    refused = run_manage(target, "restore", the_archive(backups))
    assert refused.returncode == 1
    assert "media storage" in refused.stderr and "is not empty" in refused.stderr
    stray.unlink()
    manage(target, "restore", the_archive(backups))

    assert contents(target) == contents(source)
    assert media_files(target) == media_files(source)
    assert "Putin" in manage(
        target,
        "shell",
        "-c",
        "from articles.models import Article; print(Article.objects.get().headline)",
    )
    # Restoring again would overwrite it: refused, in one line, unchanged.
    again = run_manage(target, "restore", the_archive(backups))
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert "is not empty" in again.stderr and "--force" in again.stderr
    forced = run_manage(target, "restore", "--force", the_archive(backups))
    assert forced.returncode == 0, forced.stderr
    assert contents(target) == contents(source)


def test_restore_serves_no_page_cached_from_the_replaced_database(
    tmp_path, prepared_site
):
    (tmp_path / "site").mkdir()
    site = Site.from_prepared(tmp_path / "site", prepared_site)
    site.shell(
        "from articles.models import Article; Article.objects.create("
        "headline='As backed up', slug='story', body='Text.', status='published')"
    )
    backups = tmp_path / "backups"
    backups.mkdir()
    with site.server(workers=1) as server:
        assert server.get("/articles/story/").headers["x-cache"] == "MISS"
        assert server.get("/articles/story/").headers["x-cache"] == "HIT"
        manage(site.env, "backup", backups)
        site.shell(
            "from articles.models import Article; "
            "Article.objects.update(headline='Changed since')"
        )
        site.shell(
            "from articles.delivery.keys import invalidate_pages; invalidate_pages()"
        )
        assert b"Changed since" in server.get("/").body

        manage(site.env, "restore", "--force", the_archive(backups))
        restored = server.get("/articles/story/")
        front_page = server.get("/")

    assert b"As backed up" in restored.body
    assert b"As backed up" in front_page.body
    assert b"Changed since" not in front_page.body
    # Not even the page stored from the very data the backup holds: the
    # restored database starts a page-cache generation of its own.
    assert restored.headers["x-cache"] == "MISS"


# Transactional: pg_dump's snapshot is taken in a transaction of its own;
# serialized_rollback: the next tests get the rows migrations made back.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_restore_refuses_a_database_that_holds_tables(tmp_path):
    archive = tmp_path / "site.tar.gz"
    call_command("backup", archive, stdout=StringIO())

    with pytest.raises(CommandError, match=r"is not empty \(\d+ tables\).*--force"):
        call_command("restore", archive, stdout=StringIO())


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        (b"plain text", "not a readable backup archive"),
        (None, "not a Newsroom backup"),
    ],
)
def test_restore_refuses_what_is_not_a_backup(tmp_path, content, complaint):
    archive = tmp_path / "thing.tar.gz"
    if content is None:
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(SEED, "story.txt")
    else:
        archive.write_bytes(content)

    with pytest.raises(CommandError, match=complaint):
        call_command("restore", archive, stdout=StringIO())


@pytest.mark.django_db
def test_backup_does_not_overwrite_an_archive(tmp_path):
    archive = tmp_path / "site.tar.gz"
    archive.write_bytes(b"yesterday's")

    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", archive, stdout=StringIO())
    assert archive.read_bytes() == b"yesterday's"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_keep_leaves_the_newest_archives(tmp_path):
    for day in ("20260101", "20260102", "20260103"):
        (tmp_path / f"newsroom-{day}-030000.tar.gz").write_bytes(b"old")

    call_command("backup", tmp_path, "--keep", "2", stdout=StringIO())

    kept = sorted(path.name for path in tmp_path.iterdir())
    assert len(kept) == 2
    assert kept[0] == "newsroom-20260103-030000.tar.gz"
