"""Reading story files: all an import learns of a file before it touches the
database, here or, for large imports, in a second process ahead of it.

`read_story(path, mentions)` has no database work: it reads and parses the
file (formats.py), and finds its headline's slug, its body's band keys
(duplicates.py) and the people and topics its own text names (`mentions`, a
matching.TermMatcher).

`ReadAhead(paths, mentions)` runs it in a second process, forked from this one
(which has Django loaded, and the vocabulary), a few chunks of files ahead:
the importer stores one batch while the next is read, so on two cores an
import runs at the speed of its database work alone. For fewer than MIN_FILES
files, on one core, or if that process dies, the files are read here instead.
"""

import hashlib
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from anyascii import anyascii
from django.utils.text import slugify

from articles.ingest.duplicates import band_keys
from articles.ingest.formats import (
    ImportRefused,
    ParsedArticle,
    max_length,
    parse_article,
    read_article_file,
)
from articles.models import Article

# Files a task of the reading process reads, and the tasks it runs ahead of the
# importer: enough to keep it busy, few enough to hold in memory.
CHUNK = 50
AHEAD = 8
# Fewer files are read here: forking costs about as much as reading them.
MIN_FILES = 400
# Room left in Article.slug for the "-2", "-3", ... of headlines that slugify alike.
SLUG_SUFFIX_ROOM = 10


@dataclass
class StoryRead:
    path: Path
    refusal: str | None = None  # Why it cannot be imported.
    parsed: ParsedArticle | None = None
    slug: str = ""  # headline_slug of its headline.
    band_keys: tuple = ()  # duplicates.band_keys of its body.
    mentioned: frozenset = frozenset()  # (kind, pk) of the people and topics named.


def read_story(path, mentions):
    """What the importer needs of the file at `path` before storing it."""
    path = Path(path)
    try:
        if os.path.islink(path):
            raise ImportRefused("is a symbolic link")
        parsed = parse_article(read_article_file(path))
    except ImportRefused as refusal:
        return StoryRead(path, refusal=str(refusal))
    return StoryRead(
        path,
        parsed=parsed,
        slug=headline_slug(parsed.headline),
        band_keys=band_keys(parsed.body),
        mentioned=frozenset(mentions.ids_in(parsed.own_text())),
    )


def headline_slug(headline):
    """The slug an article with this headline is known by (before any -2, -3).

    Non-Latin scripts are transliterated ("Путин" gives "putin", Chinese gives
    pinyin); a headline with nothing to transliterate gets a short hash.
    """
    room = max_length(Article, "slug") - SLUG_SUFFIX_ROOM
    slug = slugify(anyascii(headline))[:room].strip("-")
    if not slug:
        digest = hashlib.sha256(headline.encode()).hexdigest()[:10]
        slug = f"article-{digest}"
    return slug


class ReadAhead:
    """The StoryReads of `paths`, read in a second process ahead of `take`."""

    def __init__(self, paths, mentions):
        paths = [Path(path) for path in paths]
        self._mentions = mentions
        self._chunks = iter(
            [paths[start : start + CHUNK] for start in range(0, len(paths), CHUNK)]
        )
        self._reading, self._read = deque(), deque()
        self._executor = None
        if len(paths) >= MIN_FILES and (os.cpu_count() or 1) > 1:
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                # Forked: the reader starts at once, with Django and the
                # vocabulary already loaded (it never uses the database).
                mp_context=get_context("fork"),
                initializer=_start_reader,
                initargs=(mentions,),
            )
            for _ in range(AHEAD):
                self._send_next()

    def take(self, path):
        """The StoryRead of the next file, which must be `path` (files are
        taken in the order given; those skipped are dropped)."""
        path = Path(path)
        while self._read or self._receive_next():
            read = self._read.popleft()
            if read.path == path:
                if read.parsed is not None:
                    # So the importer need not fingerprint the body again.
                    band_keys.remember(read.parsed.body, read.band_keys)
                return read
        return read_story(path, self._mentions)

    def close(self):
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self._reading.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _send_next(self):
        chunk = next(self._chunks, None)
        if chunk is not None and self._executor is not None:
            self._reading.append(self._executor.submit(_read_chunk, chunk))

    def _receive_next(self):
        if not self._reading:
            return False
        try:
            self._read.extend(self._reading.popleft().result())
        except BrokenProcessPool:
            # The reader was killed: the rest is read here.
            self.close()
            return False
        self._send_next()
        return True


_mentions = None  # The reading process's vocabulary.


def _start_reader(mentions):
    global _mentions
    _mentions = mentions
    # Ctrl-C is for the importer, which stops the reader itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _read_chunk(paths):
    return [read_story(path, _mentions) for path in paths]
