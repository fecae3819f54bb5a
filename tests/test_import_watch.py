"""The watched folder: `import_articles --watch DIR` (articles/ingest/watch.py)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from articles.ingest.runs import ImportRun, ImportRunFile
from articles.ingest.watch import FolderWatcher
from articles.models import Article, Image
from tests.services import ROOT, Site, manage
from tests.test_importer import story, write
from tests.test_importer_images import photo_bytes

WATCH_OPTIONS = {"draft": False, "dry_run": False, "new_only": False}


def wait_for(condition, timeout=30, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db
def test_a_file_written_in_two_parts_with_a_pause_is_imported_once_whole(tmp_path):
    watcher = FolderWatcher(tmp_path, options=WATCH_OPTIONS, stop=threading.Event())
    text = story(body=("First half of the story.", "Second half of the story."))
    half = len(text) // 2
    path = tmp_path / "story.txt"
    with path.open("w") as file:
        file.write(text[:half])
        file.flush()
        assert watcher.poll() is None  # First seen: not settled yet.
        time.sleep(0.05)  # The writer pauses...
        file.write(text[half:])  # ...and goes on.
    assert watcher.poll() is None  # Changed since the last poll: still waits.
    assert not Article.objects.exists()

    run = watcher.poll()  # The same as the last poll: settled.

    article = Article.objects.get()
    assert "Second half of the story." in article.body
    assert [(f.name, f.outcome) for f in run.files.all()] == [("story.txt", "created")]
    assert (tmp_path / "imported" / "story.txt").read_text() == text
    assert watcher.poll() is None and watcher.poll() is None
    assert ImportRunFile.objects.count() == 1


@pytest.mark.django_db
def test_part_files_and_dot_files_wait_until_renamed(tmp_path):
    watcher = FolderWatcher(tmp_path, options=WATCH_OPTIONS, stop=threading.Event())
    write(tmp_path, "story.txt.part", story())
    write(tmp_path, ".story.txt", story(headline="Hidden while written"))
    for _ in range(3):
        assert watcher.poll() is None
    assert not Article.objects.exists()

    os.rename(tmp_path / "story.txt.part", tmp_path / "story.txt")
    watcher.poll()
    watcher.poll()

    assert list(Article.objects.values_list("headline", flat=True)) == [
        "Minsk hosts talks on grain exports"
    ]
    assert (tmp_path / ".story.txt").exists()


def stop_when(condition, what):
    """SIGTERM this process (as systemd stops the service) once `condition` holds."""

    def watch():
        wait_for(condition, what=what)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.django_db
def test_watcher_imports_new_files_and_moves_bad_ones_to_failed_with_the_reason(
    tmp_path,
):
    write(tmp_path, "good.txt", story())
    write(tmp_path, "good.jpg", photo_bytes())
    write(tmp_path, "bad.txt", b"Headline\n\0 a NUL byte\n")
    write(tmp_path, "coming.txt.part", story(headline="Not yet"))
    failed, imported = tmp_path / "failed", tmp_path / "imported"
    thread = stop_when(
        lambda: (
            (imported / "good.txt").exists() and (failed / "bad.txt.error").exists()
        ),
        "both files to be moved",
    )
    stdout = StringIO()

    call_command(
        "import_articles", "--watch", str(tmp_path), "--interval", "0.1", stdout=stdout
    )

    thread.join()
    assert sorted(p.name for p in imported.iterdir()) == ["good.jpg", "good.txt"]
    assert sorted(p.name for p in failed.iterdir()) == ["bad.txt", "bad.txt.error"]
    assert (failed / "bad.txt.error").read_text() == (
        "holds a NUL byte (byte offset 9)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "coming.txt.part",
        "failed",
        "imported",
    ]
    article = Article.objects.get()
    assert article.lead_image == Image.objects.get()
    run = ImportRun.objects.get()
    assert run.started_by == f"watch: {tmp_path}"
    assert run.state == ImportRun.State.FINISHED and run.finished_at is not None
    assert run.counts == {"created": 1, "failed": 1}
    assert sorted(run.files.values_list("name", "outcome", "article")) == [
        ("bad.txt", "failed", None),
        ("good.txt", "created", article.pk),
    ]
    assert stdout.getvalue().splitlines()[-1] == (
        f"Stopped watching {tmp_path}: created 1, updated 0, unchanged 0, "
        "skipped 0, failed 1"
    )
    # The command gave the signals back.
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.django_db
def test_a_file_delivered_again_updates_its_story(tmp_path):
    watcher = FolderWatcher(tmp_path, options=WATCH_OPTIONS, stop=threading.Event())
    write(tmp_path, "story.txt", story())
    watcher.poll(), watcher.poll()
    write(tmp_path, "story.txt", story(standfirst="Corrected standfirst."))
    watcher.poll(), watcher.poll()

    assert Article.objects.get().standfirst == "Corrected standfirst."
    assert list(
        ImportRunFile.objects.order_by("id").values_list("outcome", flat=True)
    ) == ["created", "updated"]
    assert (tmp_path / "imported" / "story.txt").read_text() == story(
        standfirst="Corrected standfirst."
    )


@pytest.mark.django_db
def test_watch_refuses_a_missing_folder_and_other_paths(tmp_path):
    with pytest.raises(CommandError, match="not a folder"):
        call_command("import_articles", "--watch", str(tmp_path / "nowhere"))
    with pytest.raises(CommandError, match="takes no other paths"):
        call_command("import_articles", str(tmp_path), "--watch", str(tmp_path))
    with pytest.raises(CommandError, match="Give the files"):
        call_command("import_articles")


# A real process, stopped as systemd stops it ----------------------------------------

STORIES = 120
# Each story's last paragraph names it: a story stored without it would be half.
LAST_PARAGRAPH = "The end of story {number}."

REPORT = """
import json
from articles.models import Article
from articles.ingest.runs import ImportRun
print(json.dumps({
    "articles": {a.source: a.body for a in Article.objects.all()},
    "links": {a.source: a.related_links.count() for a in Article.objects.all()},
    "runs": [
        [r.state, bool(r.finished_at), list(r.files.values_list("name", "outcome"))]
        for r in ImportRun.objects.order_by("id")
    ],
}))
"""


@pytest.mark.processes
def test_sigterm_mid_run_finishes_the_open_file_and_leaves_no_half_story(
    tmp_path, prepared_site
):
    site = Site.from_prepared(tmp_path, prepared_site)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number in range(STORIES):
        body = [f"Paragraph {n} of story {number}." for n in range(30)]
        body.append(LAST_PARAGRAPH.format(number=number))
        write(
            inbox,
            f"story-{number:03}.txt",
            story(headline=f"Story {number}", body=body),
        )
    log = (tmp_path / "watch.log").open("wb")
    watcher = subprocess.Popen(
        [sys.executable, "manage.py", "import_articles", "--watch", str(inbox)]
        + ["--interval", "0.2"],
        cwd=ROOT,
        env=site.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(
            lambda: len(list((inbox / "imported").glob("*.txt"))) >= 3,
            timeout=60,
            what="the first stories to be imported",
        )
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 0, (tmp_path / "watch.log").read_text()
    finally:
        if watcher.poll() is None:
            watcher.kill()
        log.close()

    imported = sorted(p.name for p in (inbox / "imported").glob("*.txt"))
    waiting = sorted(p.name for p in inbox.glob("*.txt"))
    assert 3 <= len(imported) < STORIES, "stopped mid-run"
    assert sorted(imported + waiting) == [f"story-{n:03}.txt" for n in range(STORIES)]
    report = json.loads(manage(site.env, "shell", "-c", REPORT).splitlines()[-1])
    # Every story stored is whole, and is exactly a file moved to imported/.
    assert sorted(report["articles"]) == imported
    for name, body in report["articles"].items():
        number = int(name[6:9])
        assert LAST_PARAGRAPH.format(number=number) in body
        assert report["links"][name] == 1
    [(state, finished, files)] = report["runs"]
    assert state == "finished" and finished
    assert sorted(files) == [[name, "created"] for name in imported]
    assert "Stopped watching" in (tmp_path / "watch.log").read_text()
