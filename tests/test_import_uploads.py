"""Uploads of story files from the admin, their dry run, and the record of every
import run in the admin (articles/ingest_admin.py, articles/ingest/uploads.py)."""

import io
import stat
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from articles.ingest.runs import STOPPED_AFTER, ImportRun, ImportRunFile
from articles.ingest.uploads import UNCONFIRMED_KEPT_FOR
from articles.models import Article, Image, RelatedLink
from articles.wire import ImportedSource
from tests.test_html_validity import check_files, checker_command
from tests.test_importer import run_import, story, write
from tests.test_importer_images import photo_bytes

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:articles_importrun_upload")
RUNS = reverse("admin:articles_importrun_changelist")
FILES = reverse("admin:articles_importrunfile_changelist")


@pytest.fixture(autouse=True)
def uploads_root(settings, tmp_path):
    settings.IMPORT_UPLOADS_ROOT = tmp_path / "uploads"
    return settings.IMPORT_UPLOADS_ROOT


@pytest.fixture
def immediate_tasks(settings, django_capture_on_commit_callbacks):
    """Tasks run as they are queued, once the request's transaction commits
    (tests/test_import_background.py runs them in real workers)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }
    return django_capture_on_commit_callbacks


def upload(name, content):
    return SimpleUploadedFile(
        name, content.encode() if isinstance(content, str) else content
    )


def files_in(folder):
    folder = Path(folder)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def post_upload(client, *files, draft=False):
    data = {"files": list(files)}
    if draft:
        data["draft"] = "on"
    return client.post(UPLOAD, data)


def dry_run_rows(run):
    return [(row.name, row.planned, row.note) for row in run.files.all()]


def test_editors_upload_form_is_labelled(editor_client):
    response = editor_client.get(UPLOAD)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Upload stories</h1>" in html
    assert '<label for="id_files" class="required">Story files:</label>' in html
    assert 'type="file" name="files"' in html and "multiple" in html
    assert '<label for="id_draft" class="vCheckboxLabel">' in html
    changelist = editor_client.get(RUNS).content.decode()
    assert f'<a href="{UPLOAD}" class="addlink">Upload stories</a>' in changelist


def test_an_uploads_dry_run_writes_nothing(editor_client, media_root, uploads_root):
    response = post_upload(
        editor_client,
        upload("story.txt", story()),
        upload("story.jpg", photo_bytes()),
        upload("broken.txt", b"Headline\n\0\n"),
    )

    run = ImportRun.objects.get()
    dry_run = reverse("admin:articles_importrun_dry_run", args=[run.pk])
    assert response.status_code == 302 and response["Location"] == dry_run
    page = editor_client.get(dry_run)
    html = page.content.decode()
    assert page.status_code == 200
    assert dry_run_rows(run) == [
        ("broken.txt", "would refuse", "holds a NUL byte (byte offset 9)"),
        ("story.txt", "would create", ""),
    ]
    assert "Nothing has been imported yet" in html
    assert '<input type="submit" value="Import these files"' in html
    # No story, source, photo, link or revision; no file among the media.
    assert not Article.objects.exists()
    assert not ImportedSource.objects.exists()
    assert not Image.objects.exists()
    assert not RelatedLink.objects.exists()
    assert not Version.objects.exists()
    assert files_in(media_root) == []
    # The upload waits privately, outside the media readers are served.
    assert files_in(uploads_root) == [
        f"{run.pk}/broken.txt",
        f"{run.pk}/story.jpg",
        f"{run.pk}/story.txt",
    ]
    assert run.state == ImportRun.State.DRY_RUN
    assert run.started_by == "editor" and run.user.username == "editor"
    assert run.total == 2


def test_dry_run_tells_create_update_unchanged_pending_and_refusal(
    editor_client, tmp_path
):
    stored = tmp_path / "stored"
    stored.mkdir()
    write(stored, "same.txt", story(headline="Same story"))
    write(stored, "changed.txt", story(headline="Changed story"))
    write(stored, "edited.txt", story(headline="Edited story"))
    assert run_import(stored).exit_code == 0
    # An editor rewrites a headline the wire then changes too.
    Article.objects.filter(source="edited.txt").update(headline="Editors' headline")
    before = list(Article.objects.order_by("pk").values())

    post_upload(
        editor_client,
        upload("same.txt", story(headline="Same story")),
        upload("changed.txt", story(headline="Changed story", standfirst="New.")),
        upload("edited.txt", story(headline="The wire's headline")),
        upload("new.txt", story(headline="A new story")),
        upload("empty.txt", ""),
    )

    run = ImportRun.objects.latest("id")
    html = editor_client.get(
        reverse("admin:articles_importrun_dry_run", args=[run.pk])
    ).content.decode()
    assert dry_run_rows(run) == [
        ("changed.txt", "would update", ""),
        (
            "edited.txt",
            "would hold as a pending wire update",
            "wire update waits for an editor (Headline)",
        ),
        ("empty.txt", "would refuse", "empty"),
        ("new.txt", "would create", ""),
        ("same.txt", "would leave unchanged", ""),
    ]
    assert "would hold as a pending wire update" in html
    assert list(Article.objects.order_by("pk").values()) == before
    assert not ImportedSource.objects.filter(pending_since__isnull=False).exists()


def test_confirmed_upload_is_imported_in_the_background(
    editor_client, immediate_tasks, uploads_root
):
    post_upload(
        editor_client,
        upload("story.txt", story()),
        upload("story.jpg", photo_bytes()),
        draft=True,
    )
    run = ImportRun.objects.get()
    dry_run = reverse("admin:articles_importrun_dry_run", args=[run.pk])

    with immediate_tasks(execute=True):
        response = editor_client.post(dry_run)

    assert response.status_code == 302
    assert response["Location"] == run.get_absolute_url()
    run.refresh_from_db()
    article = Article.objects.get()
    assert article.status == Article.Status.DRAFT
    assert article.lead_image is not None
    assert run.state == ImportRun.State.FINISHED and run.counts == {"created": 1}
    assert list(run.files.values_list("name", "outcome", "article")) == [
        ("story.txt", "created", article.pk)
    ]
    assert files_in(uploads_root) == []  # Kept only until imported.
    page = editor_client.get(run.get_absolute_url()).content.decode()
    assert "1 of 1 files done: created 1" in page
    assert 'http-equiv="refresh"' not in page  # Finished: no more reloading.
    # Confirming twice imports once.
    assert editor_client.post(dry_run)["Location"] == run.get_absolute_url()
    assert ImportRunFile.objects.count() == 1


def test_a_queued_runs_page_reloads_itself_to_show_progress(editor_client):
    post_upload(editor_client, upload("story.txt", story()))
    run = ImportRun.objects.get()
    # No worker here: the import stays queued.
    editor_client.post(reverse("admin:articles_importrun_dry_run", args=[run.pk]))

    page = editor_client.get(run.get_absolute_url()).content.decode()

    assert ImportRun.objects.get().state == ImportRun.State.QUEUED
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "0 of 1 files done" in page
    assert not Article.objects.exists()


def zip_of(*members):
    """A zip archive's bytes; members are (name, bytes) or ZipInfo with bytes."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, content in members:
            archive.writestr(info, content)
    return data.getvalue()


def symlink_member(name, target):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def test_a_zip_of_stories_in_a_folder_is_dry_run(editor_client):
    archive = zip_of(
        ("stories/", b""),
        ("stories/one.txt", story(headline="One").encode()),
        ("stories/one.jpg", photo_bytes()),
        ("stories/two.txt", story(headline="Two").encode()),
        ("__MACOSX/stories/._one.txt", b"resource fork"),
    )

    post_upload(editor_client, upload("stories.zip", archive))

    run = ImportRun.objects.get()
    assert [(name, planned) for name, planned, _ in dry_run_rows(run)] == [
        ("one.txt", "would create"),
        ("two.txt", "would create"),
    ]


BAD_ZIPS = [
    (
        zip_of(("../escape.txt", b"Headline\n")),
        "stories.zip: ../escape.txt: its path leads out of the archive.",
    ),
    (
        zip_of(("/etc/cron.d/story.txt", b"Headline\n")),
        "stories.zip: /etc/cron.d/story.txt: its path leads out of the archive.",
    ),
    (
        zip_of(symlink_member("story.txt", b"/etc/passwd")),
        "stories.zip: story.txt: is a symbolic link.",
    ),
    (
        zip_of(("story.txt", b"\n" * (1024 * 1024))),
        "stories.zip: story.txt: expands more than 100 times (a zip bomb?).",
    ),
    (
        zip_of(("story.txt", b"x" * (2 * 1024 * 1024))),
        "stories.zip: story.txt: larger than 1 MB.",
    ),
    (
        zip_of(("story.txt", b"Headline\n"), ("page.html", b"<script>")),
        "stories.zip: page.html: not a story or a photo "
        "(only .txt, .jpg, .jpeg, .png, .webp).",
    ),
    (b"not a zip at all", "stories.zip: not a zip archive."),
]


@pytest.mark.parametrize(("archive", "reason"), BAD_ZIPS)
def test_a_dangerous_zip_is_refused_with_the_reason(
    editor_client, uploads_root, archive, reason
):
    response = post_upload(editor_client, upload("stories.zip", archive))

    assert response.status_code == 200
    assert response.context["form"].errors["files"] == [reason]
    assert not ImportRun.objects.exists()
    assert files_in(uploads_root) == []


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ([("notes.pdf", b"%PDF")], "notes.pdf: not a story or a photo"),
        ([("story.jpg", b"")], "No story file (.txt) in the upload."),
        (
            [("a.zip", zip_of(("a.txt", b"A\n"))), ("b.txt", b"B\n")],
            "a.zip: upload a .zip on its own.",
        ),
        # A photo the import would attach to no story is refused, not dropped.
        (
            [("storm.txt", b"S\n"), ("storm-photo.jpg", b"")],
            "storm-photo.jpg: no story file of the same name (storm-photo.txt) "
            "in the upload.",
        ),
        (
            [("storm.txt", b"S\n"), ("storm.Jpg", b"")],
            "storm.Jpg: no story file of the same name (storm.txt) in the upload.",
        ),
        (
            [("storm.txt", b"S\n"), ("storm.jpg", b""), ("storm.png", b"")],
            "storm.png: storm.txt has another photo in the upload (storm.jpg).",
        ),
        (
            [
                (
                    "stories.zip",
                    zip_of(("a/storm.txt", b"S\n"), ("a/stray.webp", b"")),
                )
            ],
            "stray.webp: no story file of the same name (stray.txt) in the upload.",
        ),
    ],
)
def test_other_bad_uploads_are_refused(editor_client, files, reason):
    response = post_upload(editor_client, *(upload(n, c) for n, c in files))

    assert response.context["form"].errors["files"][0].startswith(reason)
    assert not ImportRun.objects.exists()


def test_staff_without_the_import_permission_cannot_upload(client):
    user = User.objects.create_user("reader", password="pw-reader-1", is_staff=True)
    client.force_login(user)

    assert client.get(UPLOAD).status_code == 403
    assert post_upload(client, upload("story.txt", story())).status_code == 403
    assert not ImportRun.objects.exists()
    # Nor, without the view permission, see the runs.
    assert client.get(RUNS).status_code == 403
    assert client.get(FILES).status_code == 403
    assert "Latest import runs" not in client.get(reverse("admin:index")).text


# The record of runs, for editors -----------------------------------------------------


@pytest.fixture
def recorded_runs(tmp_path):
    write(tmp_path, "good.txt", story())
    write(tmp_path, "bad.txt", "")
    run_import(tmp_path)
    return ImportRun.objects.get()


def test_editors_see_every_run_and_file_outcome_read_only(editor_client, recorded_runs):
    run = recorded_runs
    article = Article.objects.get()

    listing = editor_client.get(RUNS).content.decode()
    page = editor_client.get(run.get_absolute_url()).content.decode()

    assert f"Import run {run.pk} by command" in listing
    assert "2 of 2, 1 refused" in listing
    assert "1 of 2 files done" not in page  # Both are done.
    assert "2 of 2 files done: created 1, refused 1" in page
    assert '<th scope="row">bad.txt</th><td>refused</td>' in page
    assert "<td>refused</td><td>empty</td>" in page
    change = reverse("admin:articles_article_change", args=[article.pk])
    assert f'<a href="{change}">{article.headline}</a>' in page
    # Read-only for editors, as for everyone.
    assert 'name="_save"' not in page
    assert editor_client.post(run.get_absolute_url(), {}).status_code == 403
    delete = reverse("admin:articles_importrun_delete", args=[run.pk])
    assert editor_client.get(delete).status_code == 403
    assert editor_client.get(reverse("admin:articles_importrun_add")).status_code == 403


def test_runs_and_files_filter_by_outcome(editor_client, recorded_runs, tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    write(clean, "other.txt", story(headline="Another story"))
    run_import(clean)

    failed_runs = editor_client.get(RUNS, {"outcome": "failed"}).context["cl"]
    failed_files = editor_client.get(FILES, {"outcome": "failed"}).context["cl"]

    assert list(failed_runs.queryset) == [recorded_runs]
    assert [f.name for f in failed_files.queryset] == ["bad.txt"]
    assert ImportRun.objects.count() == 2


def test_start_page_shows_the_latest_runs_and_failures(editor_client, recorded_runs):
    html = editor_client.get(reverse("admin:index")).content.decode()

    assert "Latest import runs" in html
    assert f"Import run {recorded_runs.pk} by command" in html
    assert (
        f'<a href="{FILES}?outcome=failed" class="section">Refused files (1)</a>'
        in (html)
    )
    assert "bad.txt</a></th>" in html


def test_a_stories_page_says_which_run_last_brought_it(editor_client, tmp_path):
    path = write(tmp_path, "story.txt", story())
    run_import(path)
    write(tmp_path, "story.txt", story(standfirst="Updated."))
    run_import(path)
    run_import(path)  # Unchanged: it does not count as bringing the story.
    first, second, _ = ImportRun.objects.order_by("id")
    article = Article.objects.get()

    page = editor_client.get(
        reverse("admin:articles_article_change", args=[article.pk])
    ).content.decode()

    assert "Imported by" in page
    assert (
        f'<a href="{second.get_absolute_url()}">{second}</a> (story.txt updated)'
        in (page)
    )


@pytest.mark.processes  # Java runs the checker.
def test_import_pages_pass_the_nu_html_checker(
    editor_client, recorded_runs, tmp_path, settings
):
    checker_command()
    settings.DEBUG = False
    pages = {
        "upload": editor_client.get(UPLOAD),
        "upload-refused": post_upload(editor_client, upload("notes.pdf", b"%PDF")),
        "runs": editor_client.get(RUNS),
        "run": editor_client.get(recorded_runs.get_absolute_url()),
        "files": editor_client.get(FILES, {"outcome": "failed"}),
        "start": editor_client.get(reverse("admin:index")),
    }
    post_upload(editor_client, upload("story.txt", story(headline="Uploaded")))
    upload_run = ImportRun.objects.latest("id")
    pages["dry-run"] = editor_client.get(
        reverse("admin:articles_importrun_dry_run", args=[upload_run.pk])
    )
    editor_client.post(
        reverse("admin:articles_importrun_dry_run", args=[upload_run.pk])
    )
    pages["queued"] = editor_client.get(upload_run.get_absolute_url())
    files = []
    for name, response in pages.items():
        assert response.status_code == 200, name
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.content)
    assert check_files(files) == []


def test_an_upload_discarded_after_its_dry_run_leaves_nothing(
    editor_client, uploads_root
):
    post_upload(editor_client, upload("story.txt", story()))
    run = ImportRun.objects.get()

    response = editor_client.post(
        reverse("admin:articles_importrun_dry_run", args=[run.pk]), {"discard": "1"}
    )

    assert response["Location"] == RUNS
    assert not ImportRun.objects.exists() and not ImportRunFile.objects.exists()
    assert files_in(uploads_root) == []
    assert not Article.objects.exists()


def test_a_run_whose_process_was_killed_shows_as_stopped(editor_client):
    """A run's process killed mid-import (SIGKILL, the machine lost) leaves it
    "running": once it has recorded nothing for STOPPED_AFTER, editors see it
    stopped, with what to do, and its page stops refreshing."""
    alive = ImportRun.objects.create(started_by="command", total=10)
    killed = ImportRun.objects.create(started_by="command", total=10)
    ImportRun.objects.filter(pk=killed.pk).update(
        updated_at=timezone.now() - STOPPED_AFTER - timedelta(minutes=1)
    )

    alive_page = editor_client.get(alive.get_absolute_url()).content.decode()
    killed_page = editor_client.get(killed.get_absolute_url()).content.decode()
    changelist = editor_client.get(RUNS).content.decode()
    start_page = editor_client.get(reverse("admin:index")).content.decode()

    assert 'http-equiv="refresh"' in alive_page
    assert 'http-equiv="refresh"' not in killed_page
    assert "stopped (no progress since" in killed_page
    assert ": import its files again" in killed_page
    assert "stopped (no progress since" not in alive_page
    assert changelist.count("stopped (no progress since") == 1
    assert start_page.count("stopped (no progress since") == 1


def test_an_upload_nobody_confirmed_goes_when_a_later_one_starts(
    editor_client, uploads_root
):
    post_upload(editor_client, upload("forgotten.txt", story(headline="Forgotten")))
    post_upload(editor_client, upload("recent.txt", story(headline="Recent")))
    forgotten, recent = ImportRun.objects.order_by("pk")
    ImportRun.objects.filter(pk=forgotten.pk).update(
        started_at=timezone.now() - UNCONFIRMED_KEPT_FOR - timedelta(hours=1)
    )
    assert files_in(uploads_root) == sorted(
        [f"{forgotten.pk}/forgotten.txt", f"{recent.pk}/recent.txt"]
    )

    post_upload(editor_client, upload("new.txt", story(headline="New")))

    new = ImportRun.objects.latest("pk")
    assert list(ImportRun.objects.order_by("pk")) == [recent, new]
    assert files_in(uploads_root) == sorted(
        [f"{recent.pk}/recent.txt", f"{new.pk}/new.txt"]
    )
    dry_run = reverse("admin:articles_importrun_dry_run", args=[forgotten.pk])
    assert editor_client.get(dry_run).status_code == 404


def test_story_files_named_in_capitals_are_dry_run_with_their_photos(
    editor_client, uploads_root
):
    # Exports from Windows machines: STORM.TXT with STORM.JPG.
    post_upload(
        editor_client,
        upload("STORM.TXT", story(headline="Storm over Odesa")),
        upload("STORM.JPG", photo_bytes()),
    )

    run = ImportRun.objects.latest("id")
    assert run.total == 1
    assert dry_run_rows(run) == [("STORM.TXT", "would create", "")]
