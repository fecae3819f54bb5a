"""Read scraped article text files and store them as articles.

The format, top to bottom (fixtures/articles/ holds a real example):

    headline                      the first non-empty line
    standfirst                    the lines up to the first blank line (optional)
    (blank line)
    caption. Credit               optional: the first story line, when it ends in
                                  a fragment of at most five words, no full stop
    body                          one paragraph per line
    Read all the Latest News ...  publisher's footer, never stored
    also read                     optional, in any letter case, then blocks of
                                  "title" and "summary" lines (summary optional)

UTF-8 with or without a byte-order mark, any line endings; the ends of lines are
trimmed and runs of blank lines count as one.

`read_article_file` and `parse_article` are pure: bytes in, a ParsedArticle or an
ImportRefused out. `ArticleImporter` stores parsed files, one transaction per file.
`load_vocabulary_fixture` adds the people and topics the importer recognises.
Nothing here prints: the management commands report.
"""

import hashlib
import os
import re
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path

from anyascii import anyascii
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Q
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.utils import timezone
from django.utils.text import Truncator, slugify

from articles import renditions, richtext, wire
from articles.bylines import credit_if_uncredited
from articles.delivery.keys import invalidation_batch
from articles.history import (
    ArticleSnapshot,
    revision_written_by_caller,
    save_import_revision,
)
from articles.images import MAX_UPLOAD_BYTES, decode
from articles.ingest.duplicates import DuplicateIndex
from articles.models import (
    Article,
    Image,
    Person,
    RelatedLink,
    TaggedArticle,
    Topic,
    split_terms,
)
from articles.tasks import make_missing_renditions
from articles.wire import ImportedSource

MAX_FILE_BYTES = 1024 * 1024
RELATED_MARKER = "also read"
BOILERPLATE_START = "Read all the Latest News"
CREDIT_MAX_WORDS = 5
# A photo beside a story file, with the same stem, is its lead image.
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
# Room left in Article.slug for the "-2", "-3", ... of headlines that slugify alike.
SLUG_SUFFIX_ROOM = 10


class ImportRefused(Exception):
    """A file that cannot be imported; the message is the one-line reason."""


# Reading and parsing (no database) -------------------------------------------


@dataclass(frozen=True)
class RelatedStory:
    title: str
    summary: str = ""


@dataclass(frozen=True)
class ParsedArticle:
    headline: str
    standfirst: str
    paragraphs: tuple[str, ...]
    image_caption: str = ""
    image_credit: str = ""
    related: tuple[RelatedStory, ...] = ()

    @cached_property  # Read several times per file; a frozen dataclass keeps it.
    def body(self):
        """One <p> per paragraph, its text escaped (Article.body is HTML)."""
        return richtext.from_paragraphs(self.paragraphs)

    def own_text(self):
        """The article's own words, where people and topics are looked for.

        Related stories are other articles: their text does not count.
        """
        return "\n".join(
            [self.headline, self.standfirst, self.image_caption, *self.paragraphs]
        )


_FILE_KINDS = [
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
]


def read_article_file(path):
    """The text of one article file, or ImportRefused saying why not."""
    try:
        # Non-blocking, so that opening a FIFO does not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise ImportRefused("no such file") from None
    except OSError as error:
        raise ImportRefused(f"cannot be read ({_os_reason(error)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next(
                (name for is_kind, name in _FILE_KINDS if is_kind(info.st_mode)),
                "an unknown kind",
            )
            raise ImportRefused(f"not a regular file ({kind})")
        if info.st_size > MAX_FILE_BYTES:
            raise ImportRefused(f"larger than 1 MB ({info.st_size} bytes)")
        chunks, size = [], 0
        # Read at most one byte past the limit, in case the file grew meanwhile.
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise ImportRefused(f"cannot be read ({_os_reason(error)})") from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise ImportRefused("larger than 1 MB")
    return decode_article_bytes(b"".join(chunks))


def _os_reason(error):
    return (error.strerror or str(error)).lower()


def decode_article_bytes(data):
    """UTF-8 text without its byte-order mark; refuses NUL bytes and bad UTF-8."""
    nul_at = data.find(b"\0")
    if nul_at != -1:
        raise ImportRefused(f"holds a NUL byte (byte offset {nul_at})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ImportRefused(f"not valid UTF-8 (byte offset {error.start})") from None
    return text.removeprefix("\ufeff")


@dataclass(frozen=True)
class BesidePhoto:
    """The photo found beside a story file, checked but not stored yet."""

    name: str
    content: bytes
    checksum: str  # sha256 of the file as found, as Image.checksum


def find_photo(path, names_in_folder=None):
    """The photo beside a story file (same stem), or None; ImportRefused if it
    cannot be read or is not an image we accept.

    `names_in_folder`, the folder's file names if the caller listed it, spares
    looking for each possible photo name on disk (most stories have none).
    """
    stem = os.path.splitext(path)[0]
    candidates = [
        stem + case(extension)
        for extension in PHOTO_EXTENSIONS
        for case in (str.lower, str.upper)
    ]
    if names_in_folder is not None:
        candidates = [
            candidate
            for candidate in candidates
            if os.path.basename(candidate) in names_in_folder
        ]
    found = [candidate for candidate in candidates if os.path.isfile(candidate)]
    if not found:
        return None
    photo = Path(found[0])
    try:
        with photo.open("rb") as file:
            content = file.read(MAX_UPLOAD_BYTES + 1)
    except OSError as error:
        reason = _os_reason(error)
        raise ImportRefused(f"photo {photo.name} cannot be read ({reason})") from None
    if len(content) > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            f"photo {photo.name} is over the "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB limit"
        )
    try:
        decode(content, photo.name).close()
    except ValidationError as error:
        reason = " ".join(error.messages).rstrip(".")
        raise ImportRefused(f"photo {photo.name}: {reason}") from None
    return BesidePhoto(photo.name, content, hashlib.sha256(content).hexdigest())


def _max_length(model, field_name):
    return model._meta.get_field(field_name).max_length


def split_caption(line):
    """(caption, credit) when the line ends in a credit, else None.

    The credit is the fragment after the last ". ": at most five words with no
    full stop of its own, as in "Russian president Vladimir Putin. AP".
    """
    caption, separator, credit = line.rpartition(". ")
    caption, credit = caption.strip(), credit.strip()
    if (
        not separator
        or not caption
        or not credit
        or "." in credit
        or len(credit.split()) > CREDIT_MAX_WORDS
    ):
        return None
    return caption, credit


def _starts_boilerplate(lines, index):
    # Looking at two lines tolerates a footer wrapped inside its opening words.
    return " ".join(lines[index : index + 2]).startswith(BOILERPLATE_START)


def parse_article(text):
    """Read the text of one file as the module's docstring lays it out."""
    lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text)]
    position = 0
    while position < len(lines) and not lines[position]:
        position += 1
    if position == len(lines):
        raise ImportRefused("empty")

    headline = lines[position]
    position += 1
    headline_limit = _max_length(Article, "headline")
    if len(headline) > headline_limit:
        raise ImportRefused(
            f"headline longer than {headline_limit} characters ({len(headline)})"
        )
    standfirst_lines = []
    while position < len(lines) and lines[position]:
        standfirst_lines.append(lines[position])
        position += 1

    story = lines[position:]
    related_lines = []
    for index, line in enumerate(story):
        if line.casefold() == RELATED_MARKER:
            story, related_lines = story[:index], story[index + 1 :]
            break
    # One paragraph per line; blank lines between them carry no meaning.
    paragraphs = [line for line in story if line]
    for index in range(len(paragraphs)):
        if _starts_boilerplate(paragraphs, index):
            # Nothing from the footer to the related stories is body.
            paragraphs = paragraphs[:index]
            break

    caption = credit = ""
    if paragraphs and (caption_and_credit := split_caption(paragraphs[0])):
        caption, credit = caption_and_credit
        paragraphs = paragraphs[1:]
    if not paragraphs:
        raise ImportRefused("no body: nothing follows the headline and standfirst")

    parsed = ParsedArticle(
        headline=headline,
        standfirst=" ".join(standfirst_lines),
        paragraphs=tuple(paragraphs),
        image_caption=caption,
        image_credit=credit,
        related=tuple(_related_stories(related_lines)),
    )
    _check_lengths(parsed)
    return parsed


def _related_stories(lines):
    block = []
    for line in [*lines, ""]:
        if line:
            block.append(line)
        elif block:
            yield RelatedStory(title=block[0], summary=" ".join(block[1:]))
            block = []


def _check_lengths(parsed):
    limits = [
        ("image caption", parsed.image_caption, _max_length(Article, "image_caption")),
        ("image credit", parsed.image_credit, _max_length(Article, "image_credit")),
    ] + [
        ("related story title", story.title, _max_length(RelatedLink, "title"))
        for story in parsed.related
    ]
    for what, value, limit in limits:
        if len(value) > limit:
            raise ImportRefused(f"{what} longer than {limit} characters ({len(value)})")


def expand_paths(paths):
    """The files to import: a folder stands for its *.txt files, in name order."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.glob("*.txt")))
        else:
            files.append(path)
    return files


# Slugs and headline matching --------------------------------------------------


def headline_slug(headline):
    """The slug an article with this headline is known by (before any -2, -3).

    Non-Latin scripts are transliterated ("Путин" gives "putin", Chinese gives
    pinyin); a headline with nothing to transliterate gets a short hash.
    """
    room = _max_length(Article, "slug") - SLUG_SUFFIX_ROOM
    slug = slugify(anyascii(headline))[:room].strip("-")
    if not slug:
        digest = hashlib.sha256(headline.encode()).hexdigest()[:10]
        slug = f"article-{digest}"
    return slug


_STRAIGHT_QUOTES = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
    }
)


def headline_key(text):
    """What a related title and a headline must share to be the same story:
    case, the spacing around words and the style of quotes do not matter."""
    return " ".join(text.translate(_STRAIGHT_QUOTES).split()).casefold()


# People and topics --------------------------------------------------------------


def _trie_pattern(terms):
    trie = {}
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node_pattern(trie)


def _trie_node_pattern(node):
    branches = []
    for char, child in node.items():
        if not char:
            continue
        # A chain of single children becomes one literal, keeping nesting shallow.
        literal = char
        while len(child) == 1 and "" not in child:
            (char, child), *_ = child.items()
            literal += char
        branches.append(re.escape(literal) + _trie_node_pattern(child))
    if not branches:
        return ""
    pattern = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    # Longer terms are tried first; the term that ends here stays a match.
    return f"(?:{pattern})?" if "" in node else pattern


class TermMatcher:
    """Which of many terms occur in a text as whole words (case-sensitive).

    All terms share one regular expression, compiled once and shaped as a trie,
    so scanning a text costs about the same for ten terms or a thousand. A term
    followed by a possessive ("Putin's") is still a whole word.
    """

    def __init__(self, ids_by_term):
        self.ids_by_term = dict(ids_by_term)
        self.pattern = None
        if self.ids_by_term:
            # A lookahead, so overlapping terms ("Vladimir Putin", "Putin") all count.
            self.pattern = re.compile(
                rf"(?<!\w)(?=({_trie_pattern(self.ids_by_term)})(?!\w))"
            )

    def __contains__(self, term):
        return term in self.ids_by_term

    def ids_in(self, text):
        if self.pattern is None:
            return set()
        terms = {match.group(1) for match in self.pattern.finditer(text)}
        return set().union(*(self.ids_by_term[term] for term in terms))


def _ids_by_term(rows):
    ids_by_term = defaultdict(set)
    for pk, name, extra_terms in rows:
        for term in [name, *split_terms(extra_terms)]:
            if term.strip():
                ids_by_term[term.strip()].add(pk)
    return ids_by_term


_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_SENTENCE_ENDS = tuple(".!?:;\"'“”‘’(")
# Capitalised for grammar or as a title, not because they name someone.
_NOT_NAME_WORDS = """
    A After An And As At Before But By During Earlier For From He Her His I If In It
    Its Later Of On Or Our She Since That The Their These They This Those To We When
    While With Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
    February March April May June July August September October November December
    Ambassador Chairman Chancellor Chief Commissioner Defence Defense Dr Foreign
    General Governor King Leader Mayor Minister Mr Mrs Ms Pope President Prime
    Prince Princess Queen Secretary Senator Speaker
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


def _capitalised_runs(text):
    """Yield (words, starts_a_sentence) for each run of capitalised words."""
    run, starts_sentence, previous_end = [], False, None
    for match in _WORD.finditer(text):
        word = match.group()
        gap = text[previous_end : match.start()] if previous_end is not None else ""
        if run and gap != " ":
            yield run, starts_sentence
            run = []
        if word[0].isupper() and any(char.islower() for char in word):
            if not run:
                before = gap.rstrip(" ")
                starts_sentence = (
                    previous_end is None
                    or "\n" in gap
                    or before.endswith(_SENTENCE_ENDS)
                )
            run.append(re.sub(r"['’]s$", "", word))
        elif run:
            yield run, starts_sentence
            run = []
        previous_end = match.end()
    if run:
        yield run, starts_sentence


def unknown_names(text, people, topics):
    """Capitalised names in the text that match no person (nor any topic).

    A hint for editors, so it errs on the side of listing. Titles, function
    words and topic keywords split a run ("Ukrainian President Volodymyr
    Zelensky" gives "Volodymyr Zelensky"); a single word opening a sentence is
    left out, being capitalised for grammar.
    """
    names = []
    for run, run_starts_sentence in _capitalised_runs(text):
        part, part_starts_sentence = [], False
        for index, word in enumerate([*run, None]):
            if word is not None and word not in _NOT_NAMES and word not in topics:
                if not part:
                    part_starts_sentence = run_starts_sentence and index == 0
                part.append(word)
                continue
            name = " ".join(part)
            if part and not (
                (len(part) == 1 and part_starts_sentence)
                or name in topics
                or people.ids_in(name)
            ):
                names.append(name)
            part = []
    return names


# Storing ------------------------------------------------------------------------


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
    """Stores article files; create one per run, then call import_file per file.

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
        people = _ids_by_term(person_rows)
        topics = _ids_by_term(Topic.objects.values_list("pk", "name", "keywords"))
        if find_unknown_names:
            self.people, self.topics = TermMatcher(people), TermMatcher(topics)
        # Both vocabularies in one pattern, so each story's text is scanned once.
        mentions = defaultdict(set)
        for kind, ids_by_term in (("person", people), ("topic", topics)):
            for term, ids in ids_by_term.items():
                mentions[term].update((kind, pk) for pk in ids)
        self.mentions = TermMatcher(mentions)
        self.folder_names = {}
        self.duplicates = DuplicateIndex.load()
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

    def import_file(self, path):
        """Store one file in one transaction; ImportRefused if it cannot be."""
        parsed = parse_article(read_article_file(path))
        photo = find_photo(path, self._names_beside(path))
        name = Path(path).name
        known = self.sources.get(name)
        if known is not None and known.is_deleted and not self.undelete:
            return _skipped(known)
        if self.new_only and known is not None and known.article_id is not None:
            article = Article.objects.filter(pk=known.article_id).first()
            if article is not None:
                return ImportResult("unchanged", article)
        remembered = _Remembered()
        made_image = image = None
        try:
            if photo is not None and not self.dry_run:
                # Renditions take seconds: they are made before the story's row
                # is locked, so editors' saves meanwhile neither wait nor get
                # overwritten (the transaction below reads the story afresh).
                image, made = self._photo_image(photo, parsed)
                made_image = image if made else None
            with transaction.atomic():
                # Cached pages go stale once per file, with its commit. An import
                # never schedules a story (new ones are published now or drafts;
                # updates keep status and time), so the next publication stays.
                with (
                    invalidation_batch(publication_times_unchanged=True),
                    revision_written_by_caller(),
                ):
                    if photo is not None and self.dry_run:
                        image, _ = self._photo_image(photo, parsed, remembered)
                    result = self._store(parsed, image, name, known, remembered)
                    self._credit_byline(result)
                    if result.snapshot is not None:
                        # One revision per file, credited to it.
                        save_import_revision(result.snapshot, f"import: {name}")
                if self.dry_run:
                    transaction.set_rollback(True)
        except BaseException as error:
            # The database forgets the story; the photo files it wrote go too.
            self._delete_files(remembered)
            if made_image is not None:
                _discard(made_image)
            if isinstance(error, DatabaseError):
                message = str(error).strip()
                reason = message.splitlines()[0] if message else type(error).__name__
                raise ImportRefused(f"database error: {reason}") from error
            if isinstance(error, ValidationError):
                reason = " ".join(error.messages).rstrip(".")
                raise ImportRefused(f"photo {photo.name}: {reason}") from error
            raise
        if made_image is not None and not remembered.photo_used:
            _discard(made_image)  # Made for a story that kept its own photo.
        if self.dry_run:
            self._delete_files(remembered)
        if not self.dry_run:
            self._remember(remembered)
        if self.find_unknown_names:
            result.unknown_names = unknown_names(
                parsed.own_text(), self.people, self.topics
            )
        return result

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

    def _mentioned(self, parsed):
        """The ids of the people and of the topics the story's own text names."""
        found = self.mentions.ids_in(parsed.own_text())
        return (
            {pk for kind, pk in found if kind == "person"},
            {pk for kind, pk in found if kind == "topic"},
        )

    def _store(self, parsed, image, name, known, remembered):
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
                return self._update(article, source, parsed, image, remembered)
            # Deleted since the run started.
            source = ImportedSource.objects.filter(pk=known.pk).first()
            if source is not None and source.is_deleted and not self.undelete:
                return _skipped(source)
        return self._create(parsed, image, name, known, remembered)

    def _create(self, parsed, image, name, known, remembered):
        # Duplicates: a new file nearly copying a stored story's body waits as
        # a draft, listed for editors, instead of being published twice.
        copy = (
            self.duplicates.resembles(parsed.body, source=name)
            if known is None
            else None
        )
        article = Article(
            slug=self._free_slug(headline_slug(parsed.headline)),
            source=name,
            status=Article.Status.DRAFT
            if self.draft or copy
            else Article.Status.PUBLISHED,
            lead_image=image and self._with_alt_text(image, parsed),
            **self._imported_fields(parsed),
        )
        article.prepare_to_save()
        _save_new(article)
        remembered.articles.append((article.headline, article.pk, article.slug))
        remembered.photo_used = image is not None
        people_ids, topic_ids = self._mentioned(parsed)
        people = self._add_relations(article, PEOPLE, people_ids)
        topics = self._add_relations(article, TOPICS, topic_ids)
        links = self._planned_links(article, parsed)
        self._create_links(article, links, remembered)
        relinked = self._resolve_links_to(article, remembered)
        self._remember_source(name, known, article, parsed, image, remembered, copy)
        snapshot = ArticleSnapshot(
            article,
            people=self._named(people),
            topics=topics,
            links=links,
        )
        note = f"kept as a draft: {copy.reason} story {copy.article_id}" if copy else ""
        return ImportResult("created", article, relinked, snapshot=snapshot, note=note)

    def _remember_source(
        self, name, known, article, parsed, image, remembered, copy=None
    ):
        """Record the file as the story's source, all of it as imported now."""
        values = {
            "article": article,
            "imported": {
                **self._imported_fields(parsed),
                wire.PHOTO: image.checksum if image else None,
                wire.LINKS: _file_links(parsed),
            },
            "pending": {},
            "pending_since": None,
            # Only a hint for editors (listed on their start page).
            "duplicate_of_id": copy.article_id
            if copy
            else self.article_id_by_headline.get(parsed.headline),
            "duplicate_similarity": copy and copy.percent,
            "deleted_by": "",
            "deleted_at": None,
        }
        if known is None:
            source = ImportedSource(name=name, **values)
            _save_new(source)
            pk = source.pk
        else:  # Brought back with --undelete, or its story is gone.
            ImportedSource.objects.filter(pk=known.pk).update(**values)
            pk = known.pk
        remembered.source = (name, pk, article.pk)

    def _update(self, article, source, parsed, image, remembered):
        """Change what only the file changed; keep editors' changes, and the
        file's version of a field both changed as a pending wire update."""
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

        people_ids, topic_ids = self._mentioned(parsed)
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
            people += self._named(self._add_relations(article, PEOPLE, new_people))
            topics += self._add_relations(article, TOPICS, new_topics)
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

        note = ""
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
            source.imported, source.pending = imported, pending
            source.save(update_fields=["imported", "pending", "pending_since"])
        relinked = self._resolve_links_to(article, remembered)
        return ImportResult(outcome, article, relinked, snapshot=snapshot, note=note)

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
            image.save()
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

    def _free_slug(self, base):
        slug, number = base, 1
        while slug in self.slugs:
            number += 1
            slug = f"{base}-{number}"
        return slug

    def _named(self, rows):
        """(pk, name) of the people in join rows (row pk, person pk)."""
        return [(pk, self.person_names[pk]) for _, pk in rows]

    @staticmethod
    def _add_relations(article, relation, target_ids):
        """Link the article to more people or topics (never yet linked), in one insert.

        The managers' add() would first query the links that exist (taggit's
        even runs queries per tag); the importer knows them already, which keeps
        the queries per article constant. The m2m_changed signals are the ones
        add() sends, so listeners (the page cache) see an import like an edit.
        Returns the new join rows as (row pk, person or topic pk).
        """
        if not target_ids:
            return []
        through, article_field, target_field, target_model = relation
        signal = {
            "sender": through,
            "instance": article,
            "reverse": False,
            "model": target_model,
            "pk_set": set(target_ids),
            "using": router.db_for_write(through, instance=article),
        }
        m2m_changed.send(action="pre_add", **signal)
        rows = _insert_join_rows(
            through, article_field, target_field, article.pk, sorted(target_ids)
        )
        m2m_changed.send(action="post_add", **signal)
        return rows

    def _target_id(self, article, title):
        """The story a related title names: the article itself, or the first
        stored story whose headline matches; None until one is imported."""
        key = headline_key(title)
        if key == headline_key(article.headline):
            return article.pk
        return self.article_id_by_key.get(key)

    def _planned_links(self, article, parsed):
        return [
            RelatedLink(
                article=article,
                position=position,
                title=story.title,
                summary=story.summary,
                target_id=self._target_id(article, story.title),
            )
            for position, story in enumerate(parsed.related, start=1)
        ]

    def _create_links(self, article, links, remembered):
        # One insert for all of an article's links; the article itself was just
        # saved, which is what tells listeners its page changed.
        _insert_links(links)
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
        key = headline_key(article.headline)
        waiting = self.waiting_links.get(key)
        if not waiting:
            return []
        _point_waiting_links_at(article, list(waiting))
        remembered.resolved_keys.append(key)
        return sorted(set(waiting.values()))

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


# An import's INSERTs are plain SQL, built once per run: for the rows of one
# story the ORM spends longer building and compiling each statement than the
# database spends running it. Table and column names come from the models.


def default_alt_text(parsed):
    """The caption, or the headline when the story has none, cut to fit."""
    text = parsed.image_caption or parsed.headline
    return Truncator(text).chars(_max_length(Image, "alt_text"))


def _save_new(obj):
    """obj.save() for a new object of a model without parent models, as one
    INSERT: the same pre_save and post_save signals, defaults and auto_now
    times, and the object knows its pk and database afterwards."""
    model = type(obj)
    using = router.db_for_write(model, instance=obj)
    connection = connections[using]
    signal = {"sender": model, "instance": obj, "raw": False, "using": using}
    pre_save.send(**signal, update_fields=None)
    fields, sql = _insert_sql(using, model, 1, model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
        )
        (obj.pk,) = cursor.fetchone()
    obj._state.adding, obj._state.db = False, using
    post_save.send(**signal, created=True, update_fields=None)


@cache
def _insert_sql(using, model, rows, *returning):
    """(fields, INSERT of `rows` rows of the model returning those columns)."""
    if model._meta.parents:
        raise TypeError(f"{model.__name__} has a parent model: use save()")
    quote = connections[using].ops.quote_name
    fields = [
        f for f in model._meta.local_concrete_fields if f is not model._meta.auto_field
    ]
    row = f"({', '.join(['%s'] * len(fields))})"
    return fields, (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([row] * rows)} "
        f"RETURNING {', '.join(map(quote, returning))}"
    )


def _insert_join_rows(through, article_field, target_field, article_id, target_ids):
    """Insert (article, target) rows; return their (row pk, target pk), in order."""
    using = router.db_for_write(through)
    sql = _join_rows_sql(using, through, article_field, target_field, len(target_ids))
    with connections[using].cursor() as cursor:
        cursor.execute(
            sql,
            [value for target_id in target_ids for value in (article_id, target_id)],
        )
        # RETURNING gives the rows in no promised order.
        return sorted(cursor.fetchall(), key=lambda row: row[1])


@cache
def _join_rows_sql(using, through, article_field, target_field, count):
    quote = connections[using].ops.quote_name
    article_column = quote(through._meta.get_field(article_field).column)
    target_column = quote(through._meta.get_field(target_field).column)
    return (
        f"INSERT INTO {quote(through._meta.db_table)} ({article_column}, "
        f"{target_column}) VALUES {', '.join(['(%s, %s)'] * count)} "
        f"RETURNING {quote(through._meta.pk.column)}, {target_column}"
    )


def _insert_links(links):
    """RelatedLink.objects.bulk_create(links) for one article's links, sets pk."""
    if not links:
        return
    position = {link.position: link for link in links}
    if len(position) != len(links):
        # The pks come back by position; this never happens for imported links.
        RelatedLink.objects.bulk_create(links)
        return
    using = router.db_for_write(RelatedLink)
    connection = connections[using]
    pk_column = RelatedLink._meta.pk.column
    fields, sql = _insert_sql(using, RelatedLink, len(links), pk_column, "position")
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                f.get_db_prep_save(f.pre_save(link, True), connection)
                for link in links
                for f in fields
            ],
        )
        for pk, link_position in cursor.fetchall():
            link = position[link_position]
            link.pk = pk
            link._state.adding, link._state.db = False, connection.alias


def _point_waiting_links_at(article, link_ids):
    connection = connections[router.db_for_write(RelatedLink)]
    quote = connection.ops.quote_name
    table = quote(RelatedLink._meta.db_table)
    target = quote(RelatedLink._meta.get_field("target").column)
    pk = quote(RelatedLink._meta.pk.column)
    with connection.cursor() as cursor:
        # Chunks keep under SQLite's limit on parameters; a link an editor
        # pointed somewhere meanwhile is left alone.
        for start in range(0, len(link_ids), 500):
            chunk = link_ids[start : start + 500]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET {target} = %s "
                f"WHERE {pk} IN ({placeholders}) AND {target} IS NULL",
                [article.pk, *chunk],
            )


def _link_fields(link):
    # Not its position: an editor's reordering is no reason to rewrite links.
    return (link.title, link.summary, link.url, link.target_id)


# People and topics from fixtures --------------------------------------------------


def load_vocabulary_fixture(path):
    """Add the people and topics of a Django fixture that are not stored yet.

    An object counts as stored when one with the same slug or name exists; it is
    then left exactly as editors made it. Returns (added, kept).
    """
    added = kept = 0
    try:
        with open(path, "rb") as stream:
            objects = [item.object for item in serializers.deserialize("json", stream)]
    except OSError as error:
        raise ImportRefused(_os_reason(error)) from None
    except DeserializationError as error:
        reason = str(error).strip().splitlines()[0]
        raise ImportRefused(f"not a valid fixture: {reason}") from None
    with transaction.atomic():
        for obj in objects:
            model = type(obj)
            if model not in (Person, Topic):
                raise ImportRefused(
                    f"holds a {model._meta.label}; only people and topics are loaded"
                )
            stored = model.objects.filter(Q(slug=obj.slug) | Q(name=obj.name))
            if stored.exists():
                kept += 1
                continue
            # A fresh primary key: a fixed one could overwrite an editor's row.
            obj.pk = None
            obj.save()
            added += 1
    return added, kept
