"""Story files editors upload in the admin: checked, kept privately, dry-run, then
imported in the background once the editor confirms.

An upload is one or more `.txt` story files with their same-stem photos, or one
`.zip` of them. It is refused whole, with a one-line reason, when any file is
neither a story nor a photo, is too large, or (in a zip) would land outside the
archive's folder, is a symbolic link, or expands absurdly (a zip bomb).

The files wait in IMPORT_UPLOADS_ROOT/<run id>/ (never under MEDIA_ROOT, which is
served to readers) from the dry run until the background import is done. An
upload nobody confirms or discards is dropped, with its files, when an upload
starts UNCONFIRMED_KEPT_FOR after it: its dry run is stale by then.
"""

import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from articles.images import MAX_UPLOAD_BYTES
from articles.ingest.formats import (
    MAX_FILE_BYTES,
    PHOTO_EXTENSIONS,
    STORY_SUFFIX,
    is_story_file,
    photo_names,
    story_files_in,
)
from articles.ingest.runs import ImportRun, run_import

ZIP_SUFFIX = ".zip"
MAX_FILES = 2000
# Everything an upload holds, once unpacked.
MAX_TOTAL_BYTES = 200 * 1024 * 1024
# Text and photos compress far less than this; a member that expands more is
# built to exhaust memory or disk (a zip bomb).
MAX_COMPRESSION_RATIO = 100
# Written by archivers beside the real files, never stories: left out silently.
ARCHIVER_FOLDERS = ("__MACOSX/",)
UNCONFIRMED_KEPT_FOR = timedelta(days=7)


class UploadRefused(Exception):
    """An upload that cannot be taken; the message is the one-line reason."""


@dataclass(frozen=True)
class UploadedFile:
    name: str
    content: bytes


def read_upload(files):
    """The story files and photos of an upload (Django's UploadedFile objects),
    checked; UploadRefused saying what was wrong."""
    if not files:
        raise UploadRefused("Choose the story files (.txt) or one .zip to upload.")
    zips = [file for file in files if file.name.lower().endswith(ZIP_SUFFIX)]
    if zips and len(files) > 1:
        raise UploadRefused(f"{zips[0].name}: upload a .zip on its own.")
    if zips:
        members = _zip_members(zips[0])
    else:
        members = []
        for file in files:
            limit = _size_limit(file.name)
            if file.size > limit:
                raise UploadRefused(_too_large(file.name, limit))
            members.append(UploadedFile(file.name, file.read()))
    names = [member.name for member in members]
    for name in names:
        _check_name(name)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UploadRefused(f"{duplicates[0]}: more than one file has this name.")
    stories = [name for name in names if is_story_file(name)]
    if not stories:
        raise UploadRefused("No story file (.txt) in the upload.")
    _check_photos_have_stories(names, stories)
    if len(members) > MAX_FILES:
        raise UploadRefused(f"More than {MAX_FILES} files in one upload.")
    return members


def _check_photos_have_stories(names, stories):
    """Each photo must be the one photo of a story file in the upload: one the
    import would not attach to any story would be lost without a word."""
    story_of = {}  # Photo name -> the story whose photo it would be.
    for story in stories:
        for photo in photo_names(story):
            story_of.setdefault(photo, story)
    photo_of, stories = {}, set(stories)
    for name in names:
        if name in stories:
            continue
        story = story_of.get(name)
        if story is None:
            stem = os.path.splitext(name)[0]
            raise UploadRefused(
                f"{name}: no story file of the same name ({stem}{STORY_SUFFIX}) "
                "in the upload."
            )
        if story in photo_of:
            raise UploadRefused(
                f"{name}: {story} has another photo in the upload ({photo_of[story]})."
            )
        photo_of[story] = name


def _check_name(name):
    if name.startswith(".") or "/" in name or "\\" in name or not name.strip():
        raise UploadRefused(f"{name}: not a plain file name.")
    _size_limit(name)


def _size_limit(name):
    """The largest a file of this kind may be; refuses other kinds."""
    if is_story_file(name):
        return MAX_FILE_BYTES
    if os.path.splitext(name)[1].lower() in PHOTO_EXTENSIONS:
        return MAX_UPLOAD_BYTES
    kinds = ", ".join([STORY_SUFFIX, *PHOTO_EXTENSIONS])
    raise UploadRefused(f"{name}: not a story or a photo (only {kinds}).")


def _too_large(name, limit):
    return f"{name}: larger than {limit // 1024 // 1024} MB."


def _zip_members(upload):
    """The files of a zip, flattened out of its folders, without trusting its
    headers: what each member really expands to is read up to its limit."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError):
        raise UploadRefused(f"{upload.name}: not a zip archive.") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_FILES:
            raise UploadRefused(f"{upload.name}: more than {MAX_FILES} files.")
        members, total = [], 0
        for info in infos:
            where = f"{upload.name}: {info.filename}"
            path = PurePosixPath(info.filename.replace("\\", "/"))
            if (
                path.is_absolute()
                or ".." in path.parts
                or (path.parts and ":" in path.parts[0])
            ):
                raise UploadRefused(f"{where}: its path leads out of the archive.")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UploadRefused(f"{where}: is a symbolic link.")
            if info.is_dir() or info.filename.startswith(ARCHIVER_FOLDERS):
                continue
            if path.name.startswith("."):
                continue  # An archiver's or a file system's hidden file.
            try:
                limit = _size_limit(path.name)
            except UploadRefused as refusal:
                raise UploadRefused(f"{upload.name}: {refusal}") from None
            if info.file_size > limit:
                raise UploadRefused(f"{upload.name}: {_too_large(path.name, limit)}")
            if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise UploadRefused(
                    f"{where}: expands more than {MAX_COMPRESSION_RATIO} times "
                    "(a zip bomb?)."
                )
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                raise UploadRefused(
                    f"{upload.name}: expands to more than "
                    f"{MAX_TOTAL_BYTES // 1024 // 1024} MB."
                )
            content = _read_member(archive, info, limit, where)
            members.append(UploadedFile(path.name, content))
        return members


def _read_member(archive, info, limit, where):
    try:
        with archive.open(info) as member:
            content = member.read(limit + 1)
    except RuntimeError:  # zipfile's word for an encrypted member
        raise UploadRefused(f"{where}: is encrypted.") from None
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise UploadRefused(f"{where}: cannot be read ({error}).") from None
    if len(content) > limit:
        raise UploadRefused(f"{where}: larger than {limit // 1024 // 1024} MB.")
    return content


# The run's files ------------------------------------------------------------------


def folder_of(run):
    return Path(settings.IMPORT_UPLOADS_ROOT) / str(run.pk)


def story_paths(run):
    """The run's story files, in name order (as a folder is imported)."""
    folder = folder_of(run)
    if not folder.is_dir():
        return []
    return story_files_in(folder)


def start_upload(members, *, user, options):
    """A run for these files in the dry-run state, its files kept, its dry run
    recorded; nothing else is written (but stale uploads are dropped)."""
    discard_unconfirmed(before=timezone.now() - UNCONFIRMED_KEPT_FOR)
    run = ImportRun.objects.create(
        started_by=user.get_username(),
        user=user,
        state=ImportRun.State.DRY_RUN,
        options=options,
        total=sum(is_story_file(member.name) for member in members),
    )
    folder = folder_of(run)
    folder.mkdir(parents=True, mode=0o700)
    for member in members:
        (folder / member.name).write_bytes(member.content)
    run_import(
        story_paths(run),
        options={**options, "dry_run": True},
        started_by=run.started_by,
        run=run,
    )
    return run


def confirm(run):
    """Queue the import of a dry-run upload, once; False if it was not waiting."""
    from articles.ingest.tasks import import_upload

    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.state != ImportRun.State.DRY_RUN:
            return False
        run.files.all().delete()  # The dry run's; the import records its own.
        run.state = ImportRun.State.QUEUED
        run.counts = {}
        run.save(update_fields=["state", "counts", "updated_at"])
        transaction.on_commit(lambda: import_upload.enqueue(run.pk))
    return True


def discard(run):
    """Drop a dry-run upload the editor does not want: its files and its run."""
    with transaction.atomic():
        deleted, _ = ImportRun.objects.filter(
            pk=run.pk, state=ImportRun.State.DRY_RUN
        ).delete()
    if deleted:
        discard_files(run)
    return bool(deleted)


def discard_unconfirmed(*, before):
    """Drop the uploads waiting for confirmation since before `before`."""
    waiting = ImportRun.objects.filter(
        state=ImportRun.State.DRY_RUN, user__isnull=False, started_at__lt=before
    )
    for run in waiting:
        discard(run)


def import_confirmed(run_id):
    """The background import of a confirmed upload; its files go afterwards."""
    run = ImportRun.objects.get(pk=run_id)
    if run.state != ImportRun.State.QUEUED:
        return  # Already imported (a task delivered twice).
    try:
        run_import(
            story_paths(run), options=run.options, started_by=run.started_by, run=run
        )
    finally:
        discard_files(run)


def discard_files(run):
    shutil.rmtree(folder_of(run), ignore_errors=True)
