"""Storing story files: ArticleImporter, and the batches it commits them in.

Create one ArticleImporter per run (it reads the vocabulary and its indexes of
sources, headlines, slugs and waiting related links once), then hand it paths:

    importer = ArticleImporter(draft=False, dry_run=False, new_only=False,
                               undelete=False, find_unknown_names=False,
                               byline=None)
    for outcome in importer.import_paths(paths, batch_size=BATCH_SIZE,
                                         on_stored=None):
        outcome.path           # the file, as given
        outcome.outcome        # "created", "updated", "unchanged", "skipped"
                               # or "failed" (OUTCOMES)
        outcome.article_id     # the story it made or changed; None if failed
                               # or skipped (outcome.article is the instance)
        outcome.note           # one line: why it failed or was skipped, or
                               # the fields of a new pending wire update

`import_batch(paths, on_stored=None) -> list[FileOutcome]` imports one batch;
`import_paths` cuts the paths into batches and yields each batch's outcomes
once it has committed. `on_stored(outcomes)` is called inside each batch's
transaction after its last file, so rows it writes (a run's record of each
file) commit with the stories, or not at all.

A batch is one transaction. Consecutive files that bring new stories are
stored as a group, in one savepoint with a few multi-row statements for all of
them (a group stores exactly what storing its files one by one would: the
tests compare both); a file that updates a story has a savepoint of its own.
A file that cannot be imported (unreadable, badly formed, a symbolic link, a
database error) fails alone, leaving no article, source, revision or photo
file behind: if the database refuses a group, its files are stored again one
by one. The commit (with its fsync), the search index's merge and the page
cache's invalidation are paid once per batch, and readers see a batch at a
time. Anything else that stops a batch (KeyboardInterrupt, SIGTERM turned into an
exception, a failed commit) rolls back that batch only: what earlier batches
stored stays, and running the import again brings in the rest.

Files are read and parsed before the batch's transaction, for large imports in
a second process that reads ahead (reading.py). A photo's Image and renditions
(seconds of work) are made before the batch's
transaction opens, so no story row is locked meanwhile; each story's row is
locked (select_for_update) when its file is stored and compared as it then is:
editors' changes win (articles/wire.py, articles/conflicts.py).
"""

import os
from collections import ChainMap, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import DatabaseError, router, transaction
from django.db.models.signals import m2m_changed
from django.utils import timezone
from django.utils.text import Truncator

from articles import renditions, search, wire
from articles.bylines import credit_if_uncredited
from articles.delivery.keys import invalidation_batch
from articles.history import ArticleSnapshot, revision_written_by_caller
from articles.ingest.duplicates import (
    MIN_SHARED_BANDS,
    NEW_STORY_BANDS,
    BandIndex,
    DuplicateIndex,
    band_keys,
)
from articles.ingest.formats import (
    BesidePhoto,
    ImportRefused,
    ParsedArticle,
    find_photo,
    max_length,
)
from articles.ingest.matching import (
    TermMatcher,
    headline_key,
    ids_by_term,
    unknown_names,
)
from articles.ingest.rawsql import (
    insert_join_rows,
    insert_links,
    point_waiting_links,
    save_import_revisions,
    save_new_many,
)
from articles.ingest.reading import ReadAhead, read_story
from articles.models import Article, Image, Person, RelatedLink, TaggedArticle, Topic
from articles.redirects import CLAIMED_SLUGS
from articles.tasks import make_missing_renditions
from articles.wire import ImportedSource

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")
# Files per transaction: the commit and the page cache's invalidation are paid
# once per batch; an interruption loses at most this many files' work
# (re-running the import brings them in).
BATCH_SIZE = 200
# An article's links to people and to topics: (through model, its field naming
# the article, its field naming the other side, the other side's model).
PEOPLE = (Article.people.through, "article", "person", Person)
TOPICS = (TaggedArticle, "content_object", "tag", Topic)


@dataclass
class ImportResult:
    outcome: str  # "created", "updated", "unchanged" or "skipped"
    article: Article | None  # None when skipped
    # Other articles whose related links now point at this one.
    relinked_article_ids: list[int] = field(default_factory=list)
    unknown_names: list[str] = field(default_factory=list)
    # What the file's revision records; None when nothing changed.
    snapshot: ArticleSnapshot | None = None
    # One line for the operator: why it was skipped, or the fields of a new
    # pending wire update.
    note: str = ""
    # The file brought a new pending wire update (articles/wire.py).
    held_for_editor: bool = False


@dataclass
class FileOutcome:
    """What became of one file: what a run reports and records."""

    path: Path
    outcome: str  # One of OUTCOMES.
    article: Article | None = None  # None when failed or skipped.
    # One line for the operator: why it failed or was skipped, or the fields of
    # a new pending wire update; "" when there is nothing to say.
    note: str = ""
    unknown_names: list[str] = field(default_factory=list)
    # Other articles whose related links now point at this one.
    relinked_article_ids: list[int] = field(default_factory=list)
    # The file brought a new pending wire update (articles/wire.py).
    held_for_editor: bool = False

    @property
    def article_id(self):
        return None if self.article is None else self.article.pk

    @classmethod
    def of(cls, path, result):
        return cls(
            path,
            result.outcome,
            result.article,
            result.note,
            result.unknown_names,
            result.relinked_article_ids,
            result.held_for_editor,
        )


@dataclass
class _Prepared:
    """A file read, parsed and with its photo's Image made, ready to store."""

    path: Path
    refusal: str | None = None  # Why it cannot be imported.
    parsed: ParsedArticle | None = None
    mentioned: frozenset = frozenset()  # (kind, pk) of the people and topics named.
    slug: str = ""  # The headline's slug (before any -2, -3).
    photo: BesidePhoto | None = None
    image: Image | None = None  # The photo's Image (outside a dry run).
    made_image: Image | None = None  # That Image, when made for this file.
    remembered: "_Remembered | None" = None  # Once it is being stored.

    @property
    def uses_made_photo(self):
        return (
            self.image is not None
            and self.remembered is not None
            and self.remembered.photo_used
        )


@dataclass(frozen=True)
class _KnownSource:
    """An ImportedSource as the importer's index holds it."""

    pk: int
    article_id: int | None
    deleted_by: str = ""
    deleted_at: datetime | None = None

    @property
    def is_deleted(self):
        return self.article_id is None and self.deleted_at is not None


class _Group:
    """New stories to store together (ArticleImporter._create_group)."""

    def __init__(self):
        self.files, self._names, self._bands = [], set(), BandIndex()
        self._keys = set()  # Every band key of the group's bodies.

    def fits(self, file):
        """Whether the file's story can be stored with these exactly as if
        stored after them: not when it has one's file name (it updates that
        story), nor when its body may nearly copy one's (the duplicate check
        reads stored stories only)."""
        if file.path.name in self._names:
            return False
        keys = band_keys(file.parsed.body)
        # Fewer keys shared with all of them than one near-copy would share.
        if len(self._keys.intersection(keys)) < MIN_SHARED_BANDS:
            return True
        return not self._bands.candidates(keys)

    def add(self, file):
        keys = band_keys(file.parsed.body)
        self._bands.add(len(self.files), keys)
        self._keys.update(keys)
        self._names.add(file.path.name)
        self.files.append(file)


@dataclass
class _Remembered:
    """What one file adds to the importer's indexes once its transaction commits."""

    articles: list[tuple[str, int, str]] = field(default_factory=list)
    waiting_links: list[tuple[str, int, int]] = field(default_factory=list)
    gone_links: list[tuple[str, int]] = field(default_factory=list)
    resolved_keys: list[str] = field(default_factory=list)
    # Photo files written in storage, which a rollback does not remove.
    made_files: list[str] = field(default_factory=list)
    # (name, ImportedSource pk, article pk) of the file's source.
    source: tuple[str, int, int] | None = None
    # Whether the story uses the file's photo, or keeps it pending.
    photo_used: bool = False


class ArticleImporter:
    """Stores article files; create one per run, then hand it paths
    (import_paths, import_batch; import_file for a single file).

    A file's story is the one its source (the file's name) made: importing the
    file again changes only what no editor changed since (articles/wire.py).

    At start it reads, once, the people and topics to look for, and an index of
    every source, headline, slug and unresolved related link. That keeps the
    queries per file constant however large the database or the vocabulary, and
    lets related titles match headlines with differences of case and quotes,
    which SQL cannot index.
    """

    def __init__(
        self,
        *,
        draft=False,
        dry_run=False,
        new_only=False,
        undelete=False,
        find_unknown_names=False,
        byline=None,
    ):
        self.byline = byline  # An author's name to credit stories to (--byline).
        self.draft = draft
        self.dry_run = dry_run
        self.new_only = new_only
        self.undelete = undelete
        self.find_unknown_names = find_unknown_names
        person_rows = list(Person.objects.values_list("pk", "name", "aliases"))
        self.person_names = {pk: name for pk, name, _ in person_rows}
        people = ids_by_term(person_rows)
        topics = ids_by_term(Topic.objects.values_list("pk", "name", "keywords"))
        if find_unknown_names:
            self.people, self.topics = TermMatcher(people), TermMatcher(topics)
        # Both vocabularies in one pattern, so each story's text is scanned once.
        mentions = defaultdict(set)
        for kind, terms in (("person", people), ("topic", topics)):
            for term, ids in terms.items():
                mentions[term].update((kind, pk) for pk in ids)
        self.mentions = TermMatcher(mentions)
        self.folder_names = {}
        self._reader = None  # A ReadAhead, inside reading_ahead().
        self.duplicates = DuplicateIndex.load()
        self._load_indexes()

    def _load_indexes(self):
        """Read every source, headline, slug and unresolved related link."""
        self._indexes_stale = False
        self.sources = {
            name: _KnownSource(*known)
            for name, *known in ImportedSource.objects.values_list(
                "name", "pk", "article_id", "deleted_by", "deleted_at"
            )
        }
        # Only to find possible duplicates and link targets: never identity.
        self.article_id_by_headline = {}
        self.article_id_by_key = {}
        self.slugs = set()
        for pk, headline, slug in Article.objects.order_by("pk").values_list(
            "pk", "headline", "slug"
        ):
            self._remember_article(headline, pk, slug)
        # Links to a story not stored yet: headline key -> {link id: article id}.
        self.waiting_links = defaultdict(dict)
        for pk, title, article_id in RelatedLink.objects.filter(
            target__isnull=True, url=""
        ).values_list("pk", "title", "article_id"):
            self.waiting_links[headline_key(title)][pk] = article_id

    def import_paths(self, paths, batch_size=BATCH_SIZE, on_stored=None):
        """Import files batch by batch; yield each file's FileOutcome, in order,
        once its batch has committed."""
        paths = list(paths)
        for start in range(0, len(paths), batch_size):
            yield from self.import_batch(paths[start : start + batch_size], on_stored)

    def import_batch(self, paths, on_stored=None):
        """Import files in one transaction, each in a savepoint of its own.

        A file that cannot be imported fails alone: its savepoint rolls back and
        the photo files it wrote are deleted. `on_stored(outcomes)` is called
        inside the transaction, after the last file, so what it writes commits
        with the batch. Any other exception (a bug, KeyboardInterrupt, a failed
        commit) rolls the whole batch back and propagates.
        """
        if self._indexes_stale:
            self._load_indexes()
        prepared, outcomes, used_images = [], [], set()
        committed = False
        try:
            for path in paths:
                prepared.append(self._prepare(Path(path)))
            with transaction.atomic():
                # Cached pages go stale once per batch, with its commit. An
                # import never schedules a story (new ones are published now or
                # drafts; updates keep status and time), so the next
                # publication stays.
                with (
                    invalidation_batch(publication_times_unchanged=True),
                    revision_written_by_caller(),
                ):
                    outcomes = self._store_files(prepared)
                    for file, outcome in zip(prepared, outcomes, strict=True):
                        if outcome.outcome != "failed" and file.uses_made_photo:
                            used_images.add(file.image.pk)
                # The batch's words join the search index in one merge.
                search.merge_pending(router.db_for_write(Article))
                if on_stored is not None:
                    on_stored(outcomes)
                if self.dry_run:
                    transaction.set_rollback(True)
            committed = not self.dry_run
        finally:
            for file in prepared:
                if file.remembered is not None:
                    # Photos made inside the transaction: only a dry run's.
                    self._delete_files(file.remembered)
                made = file.made_image
                if made is not None and (not committed or made.pk not in used_images):
                    _discard(made)  # Its story failed, or kept its own photo.
            if not committed and not self.dry_run:
                # The indexes learnt from files whose batch is gone: read them
                # afresh before the next batch (not now: the database may be
                # what failed).
                self._indexes_stale = True
        return outcomes

    def import_file(self, path):
        """Import one file on its own; ImportRefused if it cannot be."""
        (outcome,) = self.import_batch([path])
        if outcome.outcome == "failed":
            raise ImportRefused(outcome.note)
        return outcome

    @contextmanager
    def reading_ahead(self, paths):
        """Inside, import_batch takes these files (given to it in this order)
        from a second process that reads them ahead (reading.ReadAhead)."""
        with ReadAhead(paths, self.mentions) as reader:
            self._reader = reader
            try:
                yield
            finally:
                self._reader = None

    def _prepare(self, path):
        """Read and parse a file, and make its photo's Image, before the batch's
        transaction: renditions take seconds, and are made before any story's
        row is locked, so editors' saves meanwhile neither wait nor get
        overwritten (the transaction reads the story afresh)."""
        if self._reader is not None:
            read = self._reader.take(path)
        else:
            read = read_story(path, self.mentions)
        file = _Prepared(path, read.refusal, read.parsed, read.mentioned, read.slug)
        if file.refusal is not None:
            return file
        try:
            file.photo = find_photo(path, self._names_beside(path))
            if file.photo is not None and not self.dry_run:
                file.image, made = self._photo_image(file.photo, file.parsed)
                file.made_image = file.image if made else None
                # Its bytes are the Image's file now: a batch of photos is not
                # held in memory until the batch ends.
                file.photo = replace(file.photo, content=None)
        except ImportRefused as refusal:
            file.refusal = str(refusal)
        except ValidationError as error:
            reason = " ".join(error.messages).rstrip(".")
            file.refusal = f"photo {file.photo.name}: {reason}"
        except DatabaseError as error:
            file.refusal = _database_error(error)
        return file

    def _store_files(self, files):
        """Each file's FileOutcome, in order. Consecutive new stories are stored
        together (_create_group), the others one by one (_store_file)."""
        outcomes, group = [], _Group()
        for file in files:
            if self._is_new_story(file):
                if not group.fits(file):
                    outcomes += self._create_group(group.files)
                    group = _Group()
                group.add(file)
                continue
            outcomes += self._create_group(group.files)
            group = _Group()
            outcomes.append(self._store_file(file))
        outcomes += self._create_group(group.files)
        return outcomes

    def _is_new_story(self, file):
        return (
            file.refusal is None
            and file.path.name not in self.sources
            # A dry run makes the photo's Image inside the file's savepoint.
            and not (self.dry_run and file.photo is not None)
        )

    def _create_group(self, files):
        """Store new stories together: one savepoint and a few statements for
        all of them. If any cannot be stored (a database error), each is
        stored on its own instead, so that one fails alone."""
        if not files:
            return []
        for file in files:
            file.remembered = _Remembered()
        try:
            with transaction.atomic():
                results = self._create_many(
                    [(file, file.image, None) for file in files]
                )
                self._record(files, results)
        except (DatabaseError, ValidationError):
            return [self._store_file(file) for file in files]
        return [
            self._stored(file, result)
            for file, result in zip(files, results, strict=True)
        ]

    def _store_file(self, file):
        """Store one prepared file in a savepoint; its FileOutcome."""
        if file.refusal is not None:
            return FileOutcome(file.path, "failed", note=file.refusal)
        name = file.path.name
        known = self.sources.get(name)
        if known is not None and known.is_deleted and not self.undelete:
            return FileOutcome.of(file.path, _skipped(known))
        if self.new_only and known is not None and known.article_id is not None:
            article = Article.objects.filter(pk=known.article_id).first()
            if article is not None:
                return FileOutcome(file.path, "unchanged", article)
        file.remembered = remembered = _Remembered()
        parsed, photo, image = file.parsed, file.photo, file.image
        try:
            with transaction.atomic():
                if photo is not None and self.dry_run:
                    image, _ = self._photo_image(photo, parsed, remembered)
                result = self._store(file, image, known)
                self._record([file], [result])
        except DatabaseError as error:
            # The savepoint forgets the story; the photo files it wrote go too.
            self._delete_files(remembered)
            return FileOutcome(file.path, "failed", note=_database_error(error))
        except ValidationError as error:
            self._delete_files(remembered)
            reason = " ".join(error.messages).rstrip(".")
            note = f"photo {photo.name}: {reason}"
            return FileOutcome(file.path, "failed", note=note)
        return self._stored(file, result)

    def _record(self, files, results):
        """Credit bylines, and write one revision per file that changed its
        story, credited to the file."""
        for result in results:
            self._credit_byline(result)
        save_import_revisions(
            [
                (result.snapshot, f"import: {file.path.name}")
                for file, result in zip(files, results, strict=True)
                if result.snapshot is not None
            ]
        )

    def _stored(self, file, result):
        """The FileOutcome of a file whose savepoint was released."""
        if not self.dry_run:
            self._remember(file.remembered)
        if self.find_unknown_names:
            result.unknown_names = unknown_names(
                file.parsed.own_text(), self.people, self.topics
            )
        return FileOutcome.of(file.path, result)

    def _credit_byline(self, result):
        """--byline: credit a new story, or a stored one that has no author yet;
        a byline an editor set stays, and --new-only leaves stored ones alone."""
        if (
            not self.byline
            or result.article is None  # Skipped: its story was deleted.
            or (self.new_only and result.outcome != "created")
        ):
            return
        credited = credit_if_uncredited(result.article, self.byline)
        if credited and result.outcome == "unchanged":
            result.outcome = "updated"

    def _names_beside(self, path):
        """The names in the file's folder, listed once per run (for photos)."""
        folder = os.path.dirname(os.path.abspath(path))
        if folder not in self.folder_names:
            try:
                self.folder_names[folder] = frozenset(os.listdir(folder))
            except OSError:
                self.folder_names[folder] = None  # Look on disk, name by name.
        return self.folder_names[folder]

    @staticmethod
    def _mentioned(file):
        """The ids of the people and of the topics the story's own text names."""
        found = file.mentioned
        return (
            {pk for kind, pk in found if kind == "person"},
            {pk for kind, pk in found if kind == "topic"},
        )

    def _store(self, file, image, known):
        if known is not None and known.article_id is not None:
            # Locked until the file's transaction ends: a save meanwhile (an
            # editor's, another import's) waits, and none is overwritten.
            try:
                # get(), not first(): no ORDER BY to build for one row.
                article = (
                    Article.objects.select_for_update(of=("self",))
                    .select_related("lead_image", "imported_source")
                    .get(pk=known.article_id)
                )
            except Article.DoesNotExist:
                article = None
            source = getattr(article, "imported_source", None)
            if source is not None:
                return self._update(article, source, file, image)
            # Deleted since the run started.
            source = ImportedSource.objects.filter(pk=known.pk).first()
            if source is not None and source.is_deleted and not self.undelete:
                return _skipped(source)
        (result,) = self._create_many([(file, image, known)])
        return result

    def _create_many(self, items):
        """Store the new stories of (file, its photo's Image or None, its
        _KnownSource or None) items: the rows and signals storing them one
        after the other would give, with a few statements for all of them.
        Each file's `remembered` collects what it adds to the indexes."""
        # Duplicates: a new file nearly copying a stored story's body waits as
        # a draft, listed for editors, instead of being published twice.
        looked_up = [index for index, (_, _, known) in enumerate(items) if not known]
        found = self.duplicates.resembles_many(
            [
                (items[index][0].parsed.body, items[index][0].path.name)
                for index in looked_up
            ]
        )
        copies = [None] * len(items)
        for index, copy in zip(looked_up, found, strict=True):
            copies[index] = copy
        articles, taken = [], set()
        for (file, image, _), copy in zip(items, copies, strict=True):
            parsed = file.parsed
            article = Article(
                slug=self._free_slug(file.slug, taken),
                source=file.path.name,
                status=Article.Status.DRAFT
                if self.draft or copy
                else Article.Status.PUBLISHED,
                lead_image=image and self._with_alt_text(image, parsed),
                **self._imported_fields(parsed),
            )
            article.prepare_to_save(clean_body_text=parsed.body_text)
            taken.add(article.slug)
            articles.append(article)
        # The receivers that would write a row per story write them together.
        with NEW_STORY_BANDS.batch(), CLAIMED_SLUGS.batch():
            save_new_many(articles, key="slug")

        # Each story in turn, as the indexes would stand after the ones before.
        keys = ChainMap({}, self.article_id_by_key)
        headlines = ChainMap({}, self.article_id_by_headline)
        resolved_keys, waiting_here = set(), defaultdict(list)
        people_ids, topic_ids, links, sources, relinked = {}, {}, [], [], []
        # Waiting links that now name a story: stored ones by pk, and links of
        # the stories before it here (unsaved yet).
        pointed, pointed_here = {}, []
        for (file, image, known), article, copy in zip(
            items, articles, copies, strict=True
        ):
            parsed, remembered = file.parsed, file.remembered
            remembered.articles.append((article.headline, article.pk, article.slug))
            remembered.photo_used = image is not None
            people_ids[article], topic_ids[article] = self._mentioned(file)
            planned = self._planned_links(article, parsed, keys)
            links.append(planned)
            for link in planned:
                if link.target_id is None:
                    waiting_here[headline_key(link.title)].append(link)
            # Links that waited for this headline now point at the story: those
            # stored, and those of the stories before it here.
            stored, here = self._links_waiting_for(
                article, remembered, resolved_keys, waiting_here
            )
            pointed.update(dict.fromkeys(stored, article.pk))
            pointed_here += [(link, article.pk) for link in here]
            relinked.append(
                sorted({*stored.values(), *(link.article_id for link in here)})
            )
            key = headline_key(article.headline)
            duplicate_of = copy.article_id if copy else headlines.get(parsed.headline)
            sources.append(
                self._source(
                    file.path.name, known, article, parsed, image, copy, duplicate_of
                )
            )
            keys.setdefault(key, article.pk)
            headlines.setdefault(article.headline, article.pk)

        people = self._add_relations(PEOPLE, people_ids)
        topics = self._add_relations(TOPICS, topic_ids)
        insert_links([link for planned in links for link in planned])
        pointed.update((link.pk, article_id) for link, article_id in pointed_here)
        point_waiting_links(pointed)
        save_new_many([source for source in sources if source.pk is None], key="name")

        results = []
        for (file, _, _), article, planned, shown_on, source, copy in zip(
            items, articles, links, relinked, sources, copies, strict=True
        ):
            remembered = file.remembered
            remembered.waiting_links.extend(
                (headline_key(link.title), link.pk, article.pk)
                for link in planned
                if link.target_id is None
            )
            remembered.source = (source.name, source.pk, article.pk)
            snapshot = ArticleSnapshot(
                article,
                people=self._named(people[article.pk]),
                topics=topics[article.pk],
                links=planned,
            )
            note = (
                f"kept as a draft: {copy.reason} story {copy.article_id}"
                if copy
                else ""
            )
            results.append(
                ImportResult("created", article, shown_on, snapshot=snapshot, note=note)
            )
        return results

    def _source(self, name, known, article, parsed, image, copy, duplicate_of):
        """The file's ImportedSource, all of it as imported now: new and
        unsaved, or (brought back with --undelete, or its story is gone) the
        stored one, updated."""
        values = {
            "article_id": article.pk,
            "imported": {
                **self._imported_fields(parsed),
                wire.PHOTO: image.checksum if image else None,
                wire.LINKS: _file_links(parsed),
            },
            "pending": {},
            "pending_since": None,
            # Only a hint for editors (listed on their start page).
            "duplicate_of_id": duplicate_of,
            "duplicate_similarity": copy and copy.percent,
            "deleted_by": "",
            "deleted_at": None,
        }
        if known is None:
            return ImportedSource(name=name, **values)
        ImportedSource.objects.filter(pk=known.pk).update(**values)
        return ImportedSource(pk=known.pk, name=name, **values)

    def _update(self, article, source, file, image):
        """Change what only the file changed; keep editors' changes, and the
        file's version of a field both changed as a pending wire update."""
        parsed, remembered = file.parsed, file.remembered
        incoming = self._imported_fields(parsed)
        current = {name: getattr(article, name) for name in incoming}
        if image is not None:
            # No photo beside the file leaves the story's photo alone.
            incoming[wire.PHOTO] = image.checksum
            current[wire.PHOTO] = wire.photo_checksum(article)
        imported, pending = dict(source.imported), dict(source.pending)
        changed = False
        for name, value in incoming.items():
            verdict = wire.three_way(imported.get(name), current[name], value)
            if verdict == wire.CONFLICT:
                pending[name] = image.pk if name == wire.PHOTO else value
                remembered.photo_used |= name == wire.PHOTO
                continue
            # The file no longer differs from the story or from its last import.
            pending.pop(name, None)
            if verdict == wire.KEEP:
                continue
            imported[name] = value
            if verdict == wire.APPLY:
                changed = True
                if name == wire.PHOTO:
                    article.lead_image = self._with_alt_text(image, parsed)
                    remembered.photo_used = True
                else:
                    setattr(article, name, value)
        if article.headline != current["headline"]:
            # Related titles later in the run find it by its new headline too.
            remembered.articles.append((article.headline, article.pk, article.slug))

        people_ids, topic_ids = self._mentioned(file)
        # People and topics are only ever added: editors' links stay.
        people = list(article.people.values_list("pk", "name"))
        new_people = people_ids - {pk for pk, _ in people}
        topics = list(
            TaggedArticle.objects.filter(content_object=article).values_list(
                "pk", "tag_id"
            )
        )
        new_topics = topic_ids - {topic_id for _, topic_id in topics}
        old_links = list(article.related_links.order_by("position", "pk"))
        ours, editors = self._split_links(article, old_links, imported.get(wire.LINKS))
        planned_links = self._wanted_links(
            article, parsed, old_links, editors, imported.get(wire.LINKS)
        )
        links_changed = [_link_fields(link) for link in ours] != [
            _link_fields(link) for link in planned_links
        ]
        imported[wire.LINKS] = _file_links(parsed)

        if changed or new_people or new_topics or links_changed:
            # Saved even when only its relations changed, so updated_at moves and
            # post_save tells listeners (the page cache) that the article changed.
            article.save()
            people += self._named(
                self._add_relations(PEOPLE, {article: new_people})[article.pk]
            )
            topics += self._add_relations(TOPICS, {article: new_topics})[article.pk]
            links = old_links
            if links_changed:
                if ours:
                    RelatedLink.objects.filter(
                        pk__in=[link.pk for link in ours]
                    ).delete()
                remembered.gone_links.extend(
                    (headline_key(link.title), link.pk) for link in ours
                )
                self._create_links(article, planned_links, remembered)
                links = sorted(
                    editors + planned_links, key=lambda link: (link.position, link.pk)
                )
            snapshot = ArticleSnapshot(article, people, topics, links)
            outcome = "updated"
        else:
            snapshot, outcome = None, "unchanged"

        note, held = "", False
        if imported != source.imported or pending != source.pending:
            if pending != source.pending:
                source.pending_since = timezone.now() if pending else None
                news = [
                    name
                    for name in pending
                    if source.pending.get(name) != pending[name]
                ]
                if news:
                    labels = ", ".join(wire.label(name) for name in news)
                    note = f"wire update waits for an editor ({labels})"
                    held = True
            source.imported, source.pending = imported, pending
            source.save(update_fields=["imported", "pending", "pending_since"])
        relinked = self._resolve_links_to(article, remembered)
        return ImportResult(
            outcome,
            article,
            relinked,
            snapshot=snapshot,
            note=note,
            held_for_editor=held,
        )

    def _split_links(self, article, links, imported_links):
        """(links still as an import of the file wrote them, editors' links).

        A link an editor added, retitled, re-summarised or pointed elsewhere is
        the editor's, and imports never remove or reset it.
        """
        imported_summary = dict(imported_links or [])
        ours, editors = [], []
        for link in links:
            untouched = (
                imported_summary.get(link.title) == link.summary
                and not link.url
                and link.target_id in (None, self._target_id(article, link.title))
            )
            (ours if untouched else editors).append(link)
        return ours, editors

    def _wanted_links(self, article, parsed, old_links, editors, imported_links):
        """The file's links the story should have besides the editors' ones:
        not those an editor's link has the title of, nor those the last import
        wrote and an editor has deleted since."""
        present = {link.title for link in old_links}
        taken = {link.title for link in editors}
        imported_titles = {title for title, _ in imported_links or []}
        return [
            link
            for link in self._planned_links(article, parsed)
            if link.title not in taken
            and (link.title in present or link.title not in imported_titles)
        ]

    @staticmethod
    def _photo_image(photo, parsed, remembered=None):
        """(The library's Image of this photo, whether it was made now).

        A photo already in the library is used again rather than stored twice.
        """
        image = Image.objects.filter(checksum=photo.checksum).first()
        if image is not None:
            return image, False
        image = Image(
            file=ContentFile(photo.content, name=photo.name),
            caption=parsed.image_caption,
            credit=parsed.image_credit,
            alt_text=default_alt_text(parsed),
        )
        try:
            image.save(renditions_by_caller=True)
        finally:
            # Image.save removes its files itself if it fails; once saved inside
            # the story's transaction they are ours to remove if it rolls back.
            if image.pk is not None and remembered is not None:
                remembered.made_files.extend(sorted(renditions.stored_names(image)))
        # At once, not by a worker: imports run outside requests, and readers
        # of a story published by one get every rendition from the first view.
        make_missing_renditions(image)
        return image, True

    @staticmethod
    def _with_alt_text(image, parsed):
        if not image.alt_text.strip():
            # An imported story always has alt text, so it can be published.
            image.alt_text = default_alt_text(parsed)
            image.save(update_fields=["alt_text"])
        return image

    @staticmethod
    def _delete_files(remembered):
        if remembered.made_files:
            renditions.delete(Image.file.field.storage, remembered.made_files)
            remembered.made_files.clear()

    @staticmethod
    def _imported_fields(parsed):
        return {
            "headline": parsed.headline,
            "standfirst": parsed.standfirst,
            "body": parsed.body,
            "image_caption": parsed.image_caption,
            "image_credit": parsed.image_credit,
        }

    def _free_slug(self, base, taken=()):
        """The base slug, or base-2, base-3, ...: the first not stored yet nor
        in `taken`."""
        slug, number = base, 1
        while slug in self.slugs or slug in taken:
            number += 1
            slug = f"{base}-{number}"
        return slug

    def _named(self, rows):
        """(pk, name) of the people in join rows (row pk, person pk)."""
        return [(pk, self.person_names[pk]) for _, pk in rows]

    @staticmethod
    def _add_relations(relation, targets):
        """Link articles to more people or topics (never yet linked), in one
        insert: `targets` is {article: ids of people or topics}.

        The managers' add() would first query the links that exist (taggit's
        even runs queries per tag); the importer knows them already, which keeps
        the queries per article constant. The m2m_changed signals are the ones
        add() sends, so listeners (the page cache) see an import like an edit.
        Returns {article pk: the new join rows as (row pk, person or topic pk)}.
        """
        through, article_field, target_field, target_model = relation
        targets = {article: sorted(ids) for article, ids in targets.items() if ids}
        using = router.db_for_write(through)
        signals = [
            {
                "sender": through,
                "instance": article,
                "reverse": False,
                "model": target_model,
                "pk_set": set(ids),
                "using": using,
            }
            for article, ids in targets.items()
        ]
        for signal in signals:
            m2m_changed.send(action="pre_add", **signal)
        rows = insert_join_rows(
            through,
            article_field,
            target_field,
            {article.pk: ids for article, ids in targets.items()},
        )
        for signal in signals:
            m2m_changed.send(action="post_add", **signal)
        return defaultdict(list, rows)

    def _target_id(self, article, title, keys=None):
        """The story a related title names: the article itself, or the first
        stored story whose headline matches (in `keys`, headline key -> pk;
        the importer's index by default); None until one is imported."""
        key = headline_key(title)
        if key == headline_key(article.headline):
            return article.pk
        return (self.article_id_by_key if keys is None else keys).get(key)

    def _planned_links(self, article, parsed, keys=None):
        return [
            RelatedLink(
                # By id: the article's object is not needed on its links, and
                # setting it costs a new story's import a tenth of its time.
                article_id=article.pk,
                position=position,
                title=story.title,
                summary=story.summary,
                target_id=self._target_id(article, story.title, keys),
            )
            for position, story in enumerate(parsed.related, start=1)
        ]

    def _create_links(self, article, links, remembered):
        # One insert for all of an article's links; the article itself was just
        # saved, which is what tells listeners its page changed.
        insert_links(links)
        remembered.waiting_links.extend(
            (headline_key(link.title), link.pk, article.pk)
            for link in links
            if link.target_id is None
        )

    def _resolve_links_to(self, article, remembered):
        """Point the links that waited for this headline at the article.

        Returns the ids of the articles showing those links. One UPDATE does it,
        so no post_save is sent for them: callers that cache pages use the ids.
        """
        stored, _ = self._links_waiting_for(article, remembered)
        point_waiting_links(dict.fromkeys(stored, article.pk))
        return sorted(set(stored.values()))

    def _links_waiting_for(
        self, article, remembered, resolved_keys=None, waiting_here=None
    ):
        """The links waiting for the article's headline, to point at it:
        ({stored link pk: the article showing it}, [unsaved links of the
        stories before it in its group, taken from `waiting_here`]).

        A headline already taken in the group (in `resolved_keys`) has none
        left; one that has any is noted as taken, in `resolved_keys` and in
        what the file's commit teaches the importer (`remembered`).
        """
        key = headline_key(article.headline)
        if resolved_keys is not None and key in resolved_keys:
            return {}, []
        stored = dict(self.waiting_links.get(key) or {})
        here = waiting_here.pop(key, []) if waiting_here is not None else []
        if stored or here:
            remembered.resolved_keys.append(key)
            if resolved_keys is not None:
                resolved_keys.add(key)
        return stored, here

    def _remember_article(self, headline, pk, slug):
        self.article_id_by_headline.setdefault(headline, pk)
        self.article_id_by_key.setdefault(headline_key(headline), pk)
        self.slugs.add(slug)

    def _remember(self, remembered):
        for headline, pk, slug in remembered.articles:
            self._remember_article(headline, pk, slug)
        if remembered.source is not None:
            name, pk, article_id = remembered.source
            self.sources[name] = _KnownSource(pk, article_id)
        for key in remembered.resolved_keys:
            self.waiting_links.pop(key, None)
        for key, pk in remembered.gone_links:
            self.waiting_links[key].pop(pk, None)
        for key, pk, article_id in remembered.waiting_links:
            self.waiting_links[key][pk] = article_id


def _database_error(error):
    message = str(error).strip()
    reason = message.splitlines()[0] if message else type(error).__name__
    return f"database error: {reason}"


def _discard(image):
    """Delete an Image the import made and no story uses, with its files now
    (its deletion is committed already, or was never inside a transaction)."""
    names = sorted(renditions.stored_names(image))
    image.delete()
    renditions.delete(Image.file.field.storage, names)


def _skipped(source):
    when = timezone.localtime(source.deleted_at).strftime("%Y-%m-%d %H:%M")
    return ImportResult(
        "skipped", None, note=f"skipped, deleted by {source.deleted_by} on {when}"
    )


def _file_links(parsed):
    """The related stories as ImportedSource.imported records them."""
    return [[story.title, story.summary] for story in parsed.related]


def default_alt_text(parsed):
    """The caption, or the headline when the story has none, cut to fit."""
    text = parsed.image_caption or parsed.headline
    return Truncator(text).chars(max_length(Image, "alt_text"))


def _link_fields(link):
    # Not its position: an editor's reordering is no reason to rewrite links.
    return (link.title, link.summary, link.url, link.target_id)
