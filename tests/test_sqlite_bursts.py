"""Imports on SQLite checkpoint the write-ahead log from a thread of their own."""

import sqlite3
import time
from pathlib import Path

from newsroom.sqlite import WalCheckpointer
from tests.services import run_python, site_env

ROOT = Path(__file__).resolve().parent.parent


def run_on_a_file_database(tmp_path, script, *args):
    """Run Python with the project's settings and an SQLite file in tmp_path."""
    setup = "import django\ndjango.setup()\n"
    return run_python(site_env(tmp_path), setup + script, *args)


def test_sqlite_file_database_uses_wal_and_normal_sync(tmp_path):
    script = (
        "from django.db import connection\n"
        "c = connection.cursor()\n"
        "c.execute('PRAGMA journal_mode')\n"
        "mode = c.fetchone()[0]\n"
        "c.execute('PRAGMA synchronous')\n"
        "print(mode, c.fetchone()[0])\n"
    )

    result = run_on_a_file_database(tmp_path, script)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "1"]  # 1 is NORMAL
    assert (tmp_path / "db.sqlite3").exists()


def wal_database(path):
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer copies
    writer.execute("CREATE TABLE story (id INTEGER PRIMARY KEY, text TEXT)")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the table, in the file
    return writer


def rows_in_the_file_alone(path):
    """Rows the database file holds, not counting what is still in the log."""
    file_only = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return file_only.execute("SELECT count(*) FROM story").fetchone()[0]
    finally:
        file_only.close()


def write_stories(writer, count):
    for _ in range(count):
        writer.execute("INSERT INTO story (text) VALUES (?)", ["words " * 200])


def test_without_a_checkpoint_the_rows_stay_in_the_log(tmp_path):
    path = tmp_path / "burst.sqlite3"
    writer = wal_database(path)
    write_stories(writer, 50)

    assert writer.execute("SELECT count(*) FROM story").fetchone()[0] == 50
    assert rows_in_the_file_alone(path) == 0


def test_checkpointer_copies_the_log_while_the_writer_goes_on(tmp_path):
    path = tmp_path / "burst.sqlite3"
    writer = wal_database(path)

    with WalCheckpointer(path, every=0.01):
        write_stories(writer, 50)
        deadline = time.monotonic() + 10
        while rows_in_the_file_alone(path) < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rows_in_the_file_alone(path) == 50  # before the block ends
        write_stories(writer, 50)

    assert rows_in_the_file_alone(path) == 100  # the last checkpoint, on leaving


def test_checkpointer_on_a_missing_folder_gives_up_quietly(tmp_path):
    with WalCheckpointer(tmp_path / "no-such-folder" / "db.sqlite3", every=0.01):
        pass


def test_an_import_into_a_file_database_keeps_every_story(tmp_path):
    """The real thing: the command on a WAL database file, the thread running."""
    folder = tmp_path / "stories"
    folder.mkdir()
    for number in range(60):
        (folder / f"{number:03}.txt").write_text(
            f"Story number {number} for the checkpointer\n"
            f"A standfirst.\n\nA first paragraph.\nA second paragraph.\n"
        )
    script = (
        "import sys, threading\n"
        "from django.core.management import call_command\n"
        "from django.db import connection\n"
        "from articles.models import Article\n"
        "call_command('migrate', verbosity=0)\n"
        "call_command('import_articles', sys.argv[1], verbosity=0)\n"
        "c = connection.cursor()\n"
        "c.execute('PRAGMA wal_autocheckpoint')\n"
        "(pages,) = c.fetchone()\n"
        "c.execute('PRAGMA cache_size')\n"
        "(cache,) = c.fetchone()\n"
        "print(Article.objects.count(), pages, cache, threading.active_count())\n"
    )

    result = run_on_a_file_database(tmp_path, script, folder)

    assert result.returncode == 0, result.stderr
    stories, checkpoint_interval, cache, threads = result.stdout.split()
    assert stories == "60"
    assert checkpoint_interval == "1000"  # SQLite's usual, back after the import
    assert cache == "-2000"  # SQLite's usual 2 MB too
    assert threads == "1"  # the checkpointer has finished
