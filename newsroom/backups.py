"""Backups: one archive with a consistent copy of the database and the media.

An archive (tar.gz) holds

    database.sqlite3 or database.pgdump  the database, as one snapshot: SQLite's
        online backup API (readers and an import go on meanwhile), or pg_dump's
        custom format (one transaction's view)
    media/...        every file of the default storage (the disk or a bucket)
    manifest.json    what it holds: Django's and the app's versions, the
        database's vendor, its applied migrations and its row counts

The database is copied before the media: a photo is stored before the story
that names it (renditions included), so every file the copy names is in the
archive; files stored meanwhile come along unnamed, which does no harm.

Restoring needs an empty database and an empty media storage unless forced,
and ends by starting a new page-cache generation (articles/delivery/keys.py), so no
page made from the database it replaced is served again.
"""

import importlib.metadata
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import django
from django.apps import apps
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from articles.delivery.keys import invalidate_pages

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
ARCHIVE_PREFIX = "newsroom-"
ARCHIVE_SUFFIX = ".tar.gz"
# What the manifest counts, and restore reports.
COUNTED = {
    "stories": "articles.Article",
    "people": "articles.Person",
    "topics": "articles.Topic",
    "photos": "articles.Image",
    "revisions": "reversion.Revision",
    "users": "auth.User",
}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is one line."""


def write_backup(destination, using=DEFAULT_DB_ALIAS, keep=None):
    """Write an archive to `destination` (a new file, or a folder to put a
    dated one in); return its path and manifest. Nothing is left half-written:
    the archive appears under its name only when complete."""
    destination = Path(destination)
    if destination.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        archive = destination / f"{ARCHIVE_PREFIX}{stamp}{ARCHIVE_SUFFIX}"
    elif keep is not None:
        raise BackupError(f"{destination}: --keep needs a folder to write into")
    else:
        archive = destination
    if archive.exists():
        raise BackupError(f"{archive}: already exists")
    if not archive.parent.is_dir():
        raise BackupError(f"{archive.parent}: no such folder")
    connection = connections[using]
    database_file = _database_file(connection)

    with tempfile.TemporaryDirectory() as work:
        snapshot = Path(work) / database_file
        if connection.vendor == "sqlite":
            held = _copy_sqlite(connection, snapshot)
        else:
            held = _dump_postgresql(connection, snapshot)
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "django": django.get_version(),
            "newsroom": _app_version(),
            "database": {"vendor": connection.vendor, "file": database_file},
            **held,
        }
        # Readable by its owner only: password hashes, unpublished drafts.
        partial = archive.with_name(f".{archive.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with (
                open(descriptor, "wb") as file,
                tarfile.open(fileobj=file, mode="w:gz") as tar,
            ):
                tar.add(snapshot, database_file)
                manifest["media"] = _add_media(tar)
                _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=2).encode())
            os.replace(partial, archive)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    if keep is not None:
        prune(archive.parent, keep)
    return archive, manifest


def restore_backup(source, using=DEFAULT_DB_ALIAS, force=False, dry_run=False):
    """Put the archive's database and media in place; return its manifest and
    the number of migrations still to apply. Refuses a database or a media
    storage that holds anything, unless `force`, which replaces it. `dry_run`
    checks the archive and the targets, and changes nothing."""
    connection = connections[using]
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        manifest = _unpack(source, work)
        _check_compatible(manifest, connection)
        tables = connection.introspection.table_names()
        if tables and not force:
            raise BackupError(
                f"database {connection.settings_dict['NAME']} is not empty "
                f"({len(tables)} tables); restore into an empty one, or use --force"
            )
        existing_media = list(media_names())
        if existing_media and not force:
            raise BackupError(
                f"media storage {_media_location()} is not empty "
                f"({len(existing_media)} files); restore into an empty one, "
                "or use --force"
            )
        if dry_run:
            return manifest, None
        database = work / manifest["database"]["file"]
        if connection.vendor == "sqlite":
            _restore_sqlite(database, connection)
        else:
            _restore_postgresql(database, connection, tables if force else [])
        for name in existing_media:
            default_storage.delete(name)
        _restore_media(work / MEDIA)

    connection.close()  # the schema under it changed
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        # Its tables may be missing: the migrate that must follow starts the
        # new page-cache generation instead.
        return manifest, len(pending)
    invalidate_pages(using)
    restored = counts(using)
    if restored != manifest["counts"]:
        raise BackupError(
            f"the restored database holds {restored}, the backup's manifest says "
            f"{manifest['counts']}"
        )
    return manifest, 0


def counts(using=DEFAULT_DB_ALIAS):
    connection = connections[using]
    with connection.cursor() as cursor:
        return _contents(cursor, connection.ops.quote_name)["counts"]


def _contents(cursor, quote_name):
    """The row counts and applied migrations a database holds, read with a
    DB-API cursor: the live database's, or the copy's before it is archived."""
    held = {"counts": {}}
    for name, label in COUNTED.items():
        table = quote_name(apps.get_model(label)._meta.db_table)
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        held["counts"][name] = cursor.fetchone()[0]
    recorded = quote_name(MigrationRecorder.Migration._meta.db_table)
    cursor.execute(f"SELECT app, name FROM {recorded}")
    held["migrations"] = sorted(f"{app}.{name}" for app, name in cursor.fetchall())
    return held


def media_names(folder=""):
    """Every file of the default storage, at any depth."""
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:  # a media folder not made yet holds nothing
        return
    for name in sorted(files):
        yield f"{folder}/{name}" if folder else name
    for name in sorted(folders):
        yield from media_names(f"{folder}/{name}" if folder else name)


def prune(folder, keep):
    """Delete all but the newest `keep` archives this module wrote in `folder`."""
    archives = sorted(Path(folder).glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}"))
    for old in archives[: max(len(archives) - keep, 0)]:
        old.unlink()


def _database_file(connection):
    if connection.vendor not in DATABASE_FILES:
        raise BackupError(f"cannot back up a {connection.vendor} database")
    return DATABASE_FILES[connection.vendor]


def _copy_sqlite(connection, target):
    """SQLite's online backup: one read transaction's view, copied in one step
    while other connections go on reading and (in WAL mode) writing. Returns
    what the copy holds."""
    connection.ensure_connection()
    copy = sqlite3.connect(target)
    try:
        connection.connection.backup(copy)
        return _contents(copy.cursor(), connection.ops.quote_name)
    finally:
        copy.close()


def _dump_postgresql(connection, target):
    """pg_dump of the snapshot this transaction sees, which is also the one
    counted: the manifest describes exactly the dump. Returns what it holds."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        _run(
            ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
            + ["--snapshot", snapshot, "--file", str(target)],
            connection,
        )
        return _contents(cursor, connection.ops.quote_name)


def _restore_sqlite(database, connection):
    """The copy replaces the live database's pages in one write transaction."""
    connection.ensure_connection()
    source = sqlite3.connect(database)
    try:
        source.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(f"restoring the SQLite database failed: {error}") from None
    finally:
        source.close()


def _restore_postgresql(dump, connection, tables_to_drop):
    """pg_restore's SQL run by psql in one transaction, after dropping the
    tables it replaces: it all lands, or nothing changes."""
    sql = Path(dump).with_suffix(".sql")
    # Replacing: also drop the functions and other objects the dump makes.
    clean = ["--clean", "--if-exists"] if tables_to_drop else []
    _run(
        ["pg_restore", "--no-owner", "--no-privileges", *clean, "--file", str(sql)]
        + [str(dump)],
        connection,
        connect=False,
    )
    drops = ""
    if tables_to_drop:
        quoted = ", ".join(map(connection.ops.quote_name, tables_to_drop))
        drops = f"DROP TABLE IF EXISTS {quoted} CASCADE;\n"
    with open(sql, "rb") as statements:
        script = drops.encode() + statements.read()
    _run(
        ["psql", "--no-psqlrc", "--quiet", "--single-transaction"]
        + ["--set", "ON_ERROR_STOP=1", "--output", os.devnull],
        connection,
        stdin=script,
    )


def _run(command, connection, connect=True, stdin=None):
    """A PostgreSQL client program, connected as Django is (dbshell's arguments)."""
    program = command[0]
    if shutil.which(program) is None:
        raise BackupError(
            f"{program} not found: install the PostgreSQL client "
            "of the server's version (Debian: postgresql-client)"
        )
    env = None
    if connect:
        args, client_env = connection.client.settings_to_cmd_args_env(
            connection.settings_dict, []
        )
        command = [*command, *args[1:]]  # args[0] is psql
        env = {**os.environ, **(client_env or {})}
    result = subprocess.run(command, input=stdin, env=env, capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise BackupError(
            f"{program} failed: {message[0] if message else 'no message'}"
        )


def _add_media(tar):
    files = size = 0
    for name in media_names():
        try:
            with default_storage.open(name, "rb") as content:
                info = tarfile.TarInfo(f"{MEDIA}/{name}")
                info.size = default_storage.size(name)
                info.mtime = int(datetime.now(UTC).timestamp())
                tar.addfile(info, content)
        except FileNotFoundError:
            continue  # deleted since it was listed: no story of the copy names it
        files += 1
        size += info.size
    return {"files": files, "bytes": size}


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _unpack(source, work):
    try:
        with tarfile.open(source, "r:gz") as tar:
            tar.extractall(work, filter="data")
    except FileNotFoundError:
        raise BackupError(f"{source}: no such file") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(
            f"{source}: not a readable backup archive ({error})"
        ) from None
    try:
        manifest = json.loads((work / MANIFEST).read_text())
    except (FileNotFoundError, ValueError):
        raise BackupError(f"{source}: not a Newsroom backup (no {MANIFEST})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{source}: backup format {manifest.get('format')} is "
            f"not {FORMAT}, the one this version reads"
        )
    if not (work / manifest["database"]["file"]).is_file():
        raise BackupError(f"{source}: the database copy is missing")
    return manifest


def _check_compatible(manifest, connection):
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            f"the backup holds a {vendor} database; this site uses {connection.vendor}"
        )
    known = {f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations}
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise BackupError(
            f"the backup was made by a newer version (migration "
            f"{unknown[0]} is unknown here); deploy that version first"
        )


def _restore_media(folder):
    if not folder.is_dir():
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        with path.open("rb") as content:
            stored = default_storage.save(name, File(content, name=name))
        if stored != name:
            raise BackupError(f"media file {name} was stored as {stored}")


def _media_location():
    return getattr(default_storage, "location", None) or getattr(
        default_storage, "bucket_name", "default storage"
    )


def _app_version():
    try:
        return importlib.metadata.version("newsroom")
    except importlib.metadata.PackageNotFoundError:
        return None
