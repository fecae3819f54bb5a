"""Per-process values that depend only on content, kept by key versions.

A value (a story and each of its attachments, its "More on this", its
metadata and JSON-LD, blocks of rendered HTML) is remembered with the site
token and the versions of the keys it was computed from, and reused while
they hold. The versions come from the read the page cache makes before each
render (the keys this page showed last time), so checking costs no query; a
value whose keys were not read is computed, and remembered once the
middleware knows their versions: those read before the view when they cover
the page (older than the value, they can only cost a recompute), else those
read after it.

One entry per name: a value for newer versions replaces the old one, so
entries of dead versions go at once, and the oldest names go past LIMIT.
Threaded workers share it, so every access holds the lock.
"""

import threading
from collections import OrderedDict

LIMIT = 2000
MISSING = object()  # what recall() gives when nothing current is kept


class VersionedMemo:
    def __init__(self, limit=LIMIT):
        self.limit = limit
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name, version, default=None):
        with self._lock:
            entry = self._entries.get(name)
        if entry is None or entry[0] != version:
            return default
        return entry[1]

    def put(self, name, version, value):
        with self._lock:
            self._entries.pop(name, None)
            self._entries[name] = (version, value)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()

    def __len__(self):
        with self._lock:
            return len(self._entries)


memo = VersionedMemo()


def remember(request, name, depends_on, compute, value_depends_on=None):
    """compute(), or its value from an earlier request while the site token,
    the keys depends_on, and value_depends_on(value) if given, keep the
    versions it was made with (see recall and keep)."""
    value = recall(request, name, depends_on)
    if value is MISSING:
        value = compute()
        keep(request, name, depends_on, value, value_depends_on)
    return value


def recall(request, name, depends_on):
    """The value kept under name, or MISSING, when the versions this request
    read say it is current. The page records depends_on: the next request
    reads their versions before its view."""
    from articles.delivery import keys

    depends_on = tuple(sorted(depends_on))
    keys.record(request, *depends_on)
    known = getattr(request, "key_versions", None)
    if known is None or not known.covers(depends_on):
        return MISSING
    kept = memo.get(name, _version(known, depends_on), MISSING)
    if kept is MISSING:
        return MISSING
    value, more_keys, more_versions = kept
    if not (known.covers(more_keys) and known.of(more_keys) == more_versions):
        return MISSING
    keys.record(request, *more_keys)
    return value


def keep(request, name, depends_on, value, value_depends_on=None):
    """Remember value once the page is made, if nothing changed meanwhile.

    value_depends_on(value) is asked then (a value may gain parts while the
    page is drawn, e.g. bylines fetched with other stories'); the page records
    the keys it shows itself. None is never kept: nothing shows.
    """
    if value is not None:
        request.__dict__.setdefault("memo_pending", []).append(
            (name, tuple(sorted(depends_on)), value, value_depends_on)
        )


def keep_pending(request, versions):
    """After the render: remember what it computed, with versions read before
    the values were computed or after (the middleware calls this only if
    nothing changed meanwhile)."""
    for name, depends_on, value, value_depends_on in getattr(
        request, "memo_pending", ()
    ):
        more_keys = tuple(sorted(value_depends_on(value))) if value_depends_on else ()
        if not versions.covers(depends_on + more_keys):
            continue  # versions nobody read: nothing to check it by later
        kept = (value, more_keys, versions.of(more_keys))
        memo.put(name, _version(versions, depends_on), kept)


def _version(versions, depends_on):
    # A new site token (a restore, raw SQL) ends every value too; a story
    # going live changes what a query finds with nobody saving anything.
    return (versions.site, versions.last_deadline, versions.of(depends_on))
