"""Near-duplicate bodies: the same story come in again under another file name.

Two bodies are near-duplicates when the sets of their word shingles (every run
of SHINGLE_WORDS words, lowercased, markup left out) have a Jaccard similarity
of THRESHOLD or more. Comparing a new body with every stored one would cost a
pass over the whole table per file, so each story keeps a few *band keys* in
`BodyBand` (locality-sensitive hashing over a MinHash signature):

- the signature is one-permutation MinHash: each shingle's CRC-32 falls into
  one of BANDS * ROWS bins, and each bin keeps its smallest value (empty bins
  borrow from a full one), so it costs one pass over the shingles;
- each band of ROWS bins is hashed to one 32-bit key, and a story is a
  candidate when it shares MIN_SHARED_BANDS of the BANDS keys. Bodies at 0.9
  similarity are candidates with a probability of 99.98% (at 0.95: all but
  5 in 10^9), bodies at 0.5 with 0.01%, at 0.4 with 0.00006%: the candidates
  are few even among stories written from one template;
- the candidates come from one indexed query for a whole group of files, and
  their bodies from a second; only those at THRESHOLD or more by exact Jaccard
  count.

Interface, for the importer:

    duplicates = DuplicateIndex.load()                 # once per run
    duplicates.resembles(body, source=name)           # Resemblance or None
    duplicates.resembles_many([(body, source), ...])  # the same, for many
    duplicates.remember(article_id, body, created=True)  # write its keys
    band_keys(body)                                   # its keys (remembered)

Every stored story has its keys however it was saved (admin, import, code): a
post_save receiver calls `remember` (the importer's inserts send post_save, so
it need not call it itself; inside a NEW_STORY_BANDS batch the keys of new
stories are written together), and deleting a story deletes its rows.
"""

import hashlib
import html
import re
import struct
import threading
import zlib
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import repeat
from operator import itemgetter

from django.db import connections, models, router
from django.db.models.signals import post_save
from django.dispatch import receiver

from articles.bulk_writes import Deferred, insert_rows, one_of
from articles.models import Article

SHINGLE_WORDS = 5
THRESHOLD = 0.9
BANDS = 24
ROWS = 8
BINS = BANDS * ROWS
# A candidate shares at least this many band keys: one or two alone are often
# chance between stories written from one template (market reports, results).
MIN_SHARED_BANDS = 3
# Shorter bodies ("Developing story.", a photo's caption) are alike by chance
# too often to tell a copy from a coincidence: they are never flagged.
MIN_WORDS = 40
_EMPTY = 1 << 32  # Above every CRC-32.
_BINS = struct.Struct(f">{BINS}I")
_BAND_BYTES = ROWS * 4
_SALTS = [band.to_bytes(16) for band in range(BANDS)]


def _donor_order(index):
    """The other bins in a random order, the same everywhere and in every
    Python version (stored keys depend on it): sorted by a hash."""
    return tuple(
        sorted(
            (other for other in range(BINS) if other != index),
            key=lambda other: hashlib.blake2b(f"{index} {other}".encode()).digest(),
        )
    )


@cache
def _donors():
    """Where each bin borrows from when it is empty: made on first use, as
    only processes that save stories need it (300 KiB, 20 ms)."""
    return [_donor_order(index) for index in range(BINS)]


_TAG = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


class BodyBand(models.Model):
    """One band key of a story's body (see the module's docstring)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    # 32 bits: a smaller index, and a false match needs 3 keys of one story.
    key = models.IntegerField(db_index=True)

    class Meta:
        verbose_name = "body band"

    def __str__(self):
        return f"{self.article_id}: {self.key}"


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset  # CRC-32 of each shingle
    band_keys: tuple  # BANDS signed 32-bit keys; empty for a short body


@dataclass(frozen=True)
class Resemblance:
    article_id: int
    similarity: float  # Jaccard similarity of the shingles, 0.9 to 1

    @property
    def percent(self):
        # Floored: 89.6% similar must never read as 90%.
        return int(self.similarity * 100)

    @property
    def reason(self):
        return f"body {self.percent}% similar to"


def words(body):
    """The body's words, lowercased, without its markup (HTML or plain text)."""
    return _WORD.findall(html.unescape(_TAG.sub(" ", body)).lower())


# A story is fingerprinted twice when it is imported (to look it up, then by
# post_save to store it): the same body string hits the cache the second time.
@lru_cache(maxsize=32)
def fingerprint(body):
    body_words = words(body)
    if len(body_words) < MIN_WORDS:
        return Fingerprint(frozenset(), ())
    runs = zip(*(body_words[start:] for start in range(SHINGLE_WORDS)), strict=False)
    shingles = frozenset(map(zlib.crc32, map(str.encode, map(" ".join, runs))))
    return Fingerprint(shingles, _band_keys(shingles))


class _BandKeysMemo:
    """band_keys(body): the body's band keys, remembered for the latest
    BODIES bodies (without their shingles). An import reads each story's keys
    three times (to batch it, to look it up, to store it), and may have them
    from the process that read its files (`remember`)."""

    BODIES = 4096

    def __init__(self):
        self._keys = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, body):
        with self._lock:
            keys = self._keys.get(body)
        if keys is None:
            keys = fingerprint(body).band_keys
            self.remember(body, keys)
        return keys

    def remember(self, body, keys):
        with self._lock:
            self._keys[body] = keys
            self._keys.move_to_end(body)
            if len(self._keys) > self.BODIES:
                self._keys.popitem(last=False)


band_keys = _BandKeysMemo()


def _band_keys(shingles):
    # Each bin keeps its lowest CRC: given them from the highest down, the
    # dict keeps the last, lowest one per bin (faster than comparing in Python).
    highest_first = sorted(shingles, reverse=True)
    bin_of = [crc % BINS for crc in highest_first]
    lowest = dict(zip(bin_of, highest_first, strict=True))
    bins = list(map(lowest.get, range(BINS), repeat(_EMPTY)))
    if len(lowest) < BINS:
        _densify(bins)
    packed = _BINS.pack(*bins)
    return tuple(
        int.from_bytes(
            hashlib.blake2b(
                packed[start : start + _BAND_BYTES], digest_size=4, salt=_SALTS[band]
            ).digest(),
            signed=True,
        )
        for band, start in enumerate(range(0, len(packed), _BAND_BYTES))
    )


def _densify(bins):
    """Fill each empty bin from a full one, the first in the bin's own fixed
    random order of the others (Shrivastava's optimal densification), so short
    bodies still compare like long ones: a band's borrowed values come from
    different bins, not all from the same neighbour."""
    own = bins.copy()
    donors = _donors()
    for index, value in enumerate(own):
        if value != _EMPTY:
            continue
        for donor in donors[index]:  # A plain loop: this runs for every file.
            borrowed = own[donor]
            if borrowed != _EMPTY:
                bins[index] = borrowed
                break


def jaccard(first, second):
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


class DuplicateIndex:
    """Finds the stored story a new body nearly copies; keeps stories' keys.

    Reads and writes the database inside the caller's transaction, so stories
    stored earlier in the same import run count, and a file that fails leaves
    no keys behind.
    """

    def __init__(self, using=None):
        self.using = using or router.db_for_write(BodyBand)

    @classmethod
    def load(cls, using=None):
        """The index of the database (nothing is read ahead: one query a file)."""
        return cls(using)

    def resembles(self, body, *, source=""):
        """The stored story whose body this one nearly copies, most similar
        first, or None. Stories imported from `source` never count."""
        (found,) = self.resembles_many([(body, source)])
        return found

    def resembles_many(self, bodies):
        """`resembles` of each (body, source) in `bodies`, in a query or two
        for all of them: the stored stories sharing band keys with any, then
        the bodies of those sharing enough with one."""
        keys = [band_keys(body) for body, _ in bodies]
        wanted = sorted({key for found in keys for key in found})
        index = BandIndex()
        connection = connections[self.using]
        with connection.cursor() as cursor:
            for condition, params in one_of(connection, wanted):
                cursor.execute(_bands_sql(self.using, condition), params)
                for article_id, key in cursor.fetchall():
                    index.add(article_id, [key])
        candidates = [index.candidates(found) for found in keys]
        stored = {}
        ids = sorted({pk for pks in candidates for pk in pks})
        with connection.cursor() as cursor:
            for condition, params in one_of(connection, ids):
                cursor.execute(_bodies_sql(self.using, condition), params)
                stored.update((pk, (src, body)) for pk, src, body in cursor.fetchall())
        return [
            _most_similar(
                body, source, [(pk, *stored[pk]) for pk in pks if pk in stored]
            )
            for (body, source), pks in zip(bodies, candidates, strict=True)
        ]

    def remember(self, article_id, body, *, created=False):
        """Store the story's band keys, replacing those of its previous body."""
        if not created:
            bands = BodyBand.objects.using(self.using)
            stored = bands.filter(article_id=article_id)
            keys = fingerprint(body).band_keys
            if sorted(stored.values_list("key", flat=True)) == sorted(keys):
                return
            stored.delete()
        self.remember_new([(article_id, body)])

    def remember_new(self, stories):
        """Store the band keys of new stories, (article id, body) each."""
        insert_rows(
            connections[self.using],
            BodyBand._meta.db_table,
            (_column("article"), _column("key")),
            # In key order: the key index's pages are then each written once,
            # in turn, rather than all over it for every story.
            sorted(
                [(story, key) for story, body in stories for key in band_keys(body)],
                key=itemgetter(1),
            ),
        )


def _most_similar(body, source, candidates):
    """The Resemblance to `body` of the most similar of (pk, source, body)
    candidates at THRESHOLD or more (the oldest story of equals), or None."""
    if not candidates:
        return None
    new, best = fingerprint(body), None
    for pk, candidate_source, candidate_body in candidates:
        if source and candidate_source == source:
            continue
        similarity = jaccard(new.shingles, fingerprint(candidate_body).shingles)
        if similarity >= THRESHOLD and (
            best is None or (similarity, -pk) > (best.similarity, -best.article_id)
        ):
            best = Resemblance(pk, similarity)
    return best


class BandIndex:
    """Stories' band keys in memory: which stories share enough of them with
    a body for the two to be compared at all."""

    def __init__(self):
        self._stories_by_key = defaultdict(list)

    def add(self, story, keys):
        for key in keys:
            self._stories_by_key[key].append(story)

    def candidates(self, keys):
        """The stories sharing MIN_SHARED_BANDS of these keys, sorted."""
        shared = Counter(
            story for key in set(keys) for story in self._stories_by_key.get(key, ())
        )
        return sorted(
            story for story, count in shared.items() if count >= MIN_SHARED_BANDS
        )


# Plain SQL, built once per database: the ORM takes longer to build and compile
# these statements than the database takes to run them, once per imported file.
# Table and column names come from the models.


@cache
def _bands_sql(using, condition):
    """(article id, key) of the stored band rows whose key is `condition`
    (bulk_writes.one_of)."""
    quote = connections[using].ops.quote_name
    return (
        f"SELECT {quote(_column('article'))}, {quote(_column('key'))} "
        f"FROM {quote(BodyBand._meta.db_table)} "
        f"WHERE {quote(_column('key'))} {condition}"
    )


@cache
def _bodies_sql(using, condition):
    """(pk, source, body) of the stories whose pk is `condition`."""
    quote = connections[using].ops.quote_name
    pk = quote(Article._meta.pk.column)
    source, body = (quote(_column(name, Article)) for name in ("source", "body"))
    return (
        f"SELECT {pk}, {source}, {body} FROM {quote(Article._meta.db_table)} "
        f"WHERE {pk} {condition}"
    )


def _column(name, model=BodyBand):
    return model._meta.get_field(name).column


def band_rows(model, article_id, body):
    """The BodyBand rows (unsaved) of one story; `model` may be a migration's."""
    return [
        model(article_id=article_id, key=key) for key in fingerprint(body).band_keys
    ]


def _remember_new_stories(stories):
    by_database = defaultdict(list)
    for using, article_id, body in stories:
        by_database[using].append((article_id, body))
    for using, rows in by_database.items():
        DuplicateIndex(using).remember_new(rows)


# New stories' keys, written together at the end of a bulk writer's batch.
NEW_STORY_BANDS = Deferred(_remember_new_stories)


@receiver(post_save, sender=Article, dispatch_uid="remember-body-bands")
def remember_body_bands(sender, instance, created, raw, using, update_fields, **kw):
    """However a story is saved, a later import can find the body it has now."""
    if update_fields is not None and "body" not in update_fields:
        return
    if created and NEW_STORY_BANDS.add((using, instance.pk, instance.body)):
        return
    DuplicateIndex(using).remember(instance.pk, instance.body, created=created)
