"""The watched folder: story files dropped in a folder are imported as they arrive.

The folder is polled (every few seconds) rather than watched with inotify: a
poll works the same on every file system, network shares included, where
inotify sees no writes made by other machines; and whatever the notification,
a file is only safe to read once it has stopped changing, which takes a second
look anyway. A story file is imported when its size and modification time (and
those of its same-stem photos) are the same in two polls in a row; `*.part`
files and dot-files are left alone until they are renamed.

After its import a story file moves, with its photos, to `imported/`, or to
`failed/` beside `<name>.error` holding the reason. Each batch of files ready in
one poll is one ImportRun, started by "watch: <folder>".
"""

import os
import stat
from contextlib import suppress
from pathlib import Path

from articles.ingest.formats import is_story_file, photo_names
from articles.ingest.runs import WATCH_PREFIX, ImportRunFile, run_import

IMPORTED = "imported"
FAILED = "failed"
IGNORED_SUFFIX = ".part"


# Files arrive a few at a time: small batches put each story before readers
# soon after it lands, and SIGTERM waits for at most one batch.
WATCH_BATCH_SIZE = 10


class FolderWatcher:
    """Imports the files that settled in `folder` since the last poll.

    `stop` (a threading.Event, set by the command's SIGTERM handler) ends the
    watch between batches: the open batch is finished and moved first.
    """

    def __init__(self, folder, *, options, stop, on_file=None):
        self.folder = Path(folder)
        self.options = options
        self.stop = stop
        self.on_file = on_file
        self.seen = {}  # story path -> its signature at the last poll
        for name in (IMPORTED, FAILED):
            (self.folder / name).mkdir(exist_ok=True)

    def watch(self, interval):
        """Poll every `interval` seconds until stopped."""
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(interval)

    def poll(self):
        """Import the story files whose signature held since the last poll;
        returns the run, or None when none was ready."""
        entries = self._entries()
        current = {
            path: _signature(path, entries) for path in entries if is_story_file(path)
        }
        ready = sorted(
            path
            for path, signature in current.items()
            if signature is not None and self.seen.get(path) == signature
        )
        self.seen = current
        if not ready:
            return None
        return run_import(
            ready,
            options=self.options,
            started_by=f"{WATCH_PREFIX}{self.folder}",
            on_file=self._file_done,
            stop=self.stop.is_set,
            batch_size=WATCH_BATCH_SIZE,
        )

    def _entries(self):
        """Name -> lstat of each file in the folder worth looking at."""
        entries = {}
        with os.scandir(self.folder) as scan:
            for entry in scan:
                if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIX):
                    continue  # Still being written: waits to be renamed.
                try:
                    info = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # Gone since listed.
                if stat.S_ISDIR(info.st_mode):
                    continue
                entries[self.folder / entry.name] = info
        return entries

    def _file_done(self, done):
        path = Path(done.path)
        photos = [photo for photo in _photos_of(path) if photo.exists()]
        self.seen.pop(path, None)
        if done.row.outcome == ImportRunFile.Outcome.FAILED:
            target = self.folder / FAILED
            (target / f"{path.name}.error").write_text(done.row.note + "\n")
        else:
            target = self.folder / IMPORTED
        for moved in (path, *photos):
            # Replaces an earlier delivery of the same name: the newest stays.
            with suppress(FileNotFoundError):  # Taken away meanwhile.
                os.replace(moved, target / moved.name)
        if self.on_file is not None:
            self.on_file(done)


def _photos_of(story):
    return [Path(name) for name in photo_names(story)]


def _signature(story, entries):
    """Size and modification time of the story and of its photos; None while
    the story is not a regular file."""
    info = entries[story]
    if not stat.S_ISREG(info.st_mode) and not stat.S_ISLNK(info.st_mode):
        return None
    return tuple(
        (photo.name, entries[photo].st_size, entries[photo].st_mtime_ns)
        for photo in (story, *_photos_of(story))
        if photo in entries
    )
