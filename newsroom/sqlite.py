"""SQLite during a burst of writes (an import): checkpoints off the writing thread.

In WAL mode each commit appends pages to the write-ahead log, and SQLite copies
the log into the database file (a checkpoint: thousands of pages and two
fsyncs) from inside whichever commit finds the log past 1,000 pages. During an
import that is about one commit in twenty, and a tenth of the import's time.
`write_burst` has a thread of its own copy the log every 50 ms, on the other
core, while the import goes on. The import's own commits checkpoint only past
10,000 pages, finding nearly everything copied: only they can start the log
afresh, which keeps it from growing without end.

The writer's page cache grows too (BURST_CACHE_KIB, from SQLite's 2 MB): an
import's inserts land all over the indexes (a story's band keys are random
numbers), and with the small cache a fifth of its database time went to
reading index pages back (measured with benchmarks/import_bench.py).

Each file still commits on its own, and readers are never blocked: the thread's
checkpoints are PASSIVE, waiting for no reader or writer. Other databases, and
SQLite databases not in WAL mode (the tests' in-memory one), are left as they
are.
"""

import logging
import sqlite3
import threading
from contextlib import contextmanager, suppress

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY_SECONDS = 0.05
# Should the thread fall behind, the writer's own commits still checkpoint once
# the log holds this many pages (40 MB), not at SQLite's usual 1,000.
BURST_CHECKPOINT_PAGES = 10_000
BURST_CACHE_KIB = 64 * 1024


@contextmanager
def write_burst(using=DEFAULT_DB_ALIAS):
    """Checkpoint from another thread while the block writes, then once at the end."""
    connection = connections[using]
    if connection.vendor != "sqlite" or _journal_mode(connection) != "wal":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        (usual_pages,) = cursor.fetchone()
        cursor.execute("PRAGMA cache_size")
        (usual_cache,) = cursor.fetchone()
        cursor.execute(f"PRAGMA wal_autocheckpoint = {BURST_CHECKPOINT_PAGES}")
        # Negative: a size in KiB rather than in pages.
        cursor.execute(f"PRAGMA cache_size = -{BURST_CACHE_KIB}")
    try:
        with WalCheckpointer(connection.settings_dict["NAME"]):
            yield
    finally:
        # Not masking whatever ended the block, if the database went away.
        with suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {int(usual_pages)}")
            cursor.execute(f"PRAGMA cache_size = {int(usual_cache)}")


def _journal_mode(connection):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return cursor.fetchone()[0].lower()


class WalCheckpointer:
    """Copies an SQLite database's write-ahead log into its file, from a thread
    and a connection of its own, every `every` seconds and once more on leaving
    the `with` block. sqlite3 lets go of Python's lock while it works, so the
    copying and the fsyncs run beside the writer."""

    def __init__(self, path, every=CHECKPOINT_EVERY_SECONDS):
        self.path, self.every = str(path), every
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="sqlite-checkpointer", daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopping.set()
        self._thread.join()

    def _run(self):
        try:
            database = sqlite3.connect(self.path)
        except sqlite3.Error as error:
            logger.warning("Cannot checkpoint %s: %s", self.path, error)
            return
        try:
            while not self._stopping.wait(self.every):
                database.execute("PRAGMA wal_checkpoint(PASSIVE)")
            database.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            # The writer's own commits checkpoint from now on, as usual.
            logger.warning("Stopped checkpointing %s: %s", self.path, error)
        finally:
            database.close()
