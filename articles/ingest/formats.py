"""Reading one scraped story file: pure functions, no database.

The format, top to bottom (fixtures/articles/ holds a real example; the full
description is FORMAT.md):

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

`read_article_file` and `parse_article` are bytes in, a ParsedArticle or an
ImportRefused out; `find_photo` checks the photo beside a file; `expand_paths`
turns the command's arguments into files. The limits come from the models'
field lengths, which needs no database.
"""

import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from django.core.exceptions import ValidationError

from articles import richtext
from articles.images import decode, read_upload
from articles.models import Article, RelatedLink

MAX_FILE_BYTES = 1024 * 1024
RELATED_MARKER = "also read"
BOILERPLATE_START = "Read all the Latest News"
CREDIT_MAX_WORDS = 5
# Story files are *.txt, in any letter case; a photo beside one, with the same
# stem, is its lead image.
STORY_SUFFIX = ".txt"
PHOTO_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")


class ImportRefused(Exception):
    """A file that cannot be imported; the message is the one-line reason."""


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

    @cached_property
    def body_text(self):
        """The body's text, as richtext.to_text reads it from `body`: the
        paragraphs, which are single lines with no space at either end."""
        return "\n\n".join(self.paragraphs)

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
        # Non-blocking, so that opening a FIFO does not wait for a writer; not
        # following a symbolic link, even one made since the caller looked.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise ImportRefused("no such file") from None
    except OSError as error:
        if error.errno == errno.ELOOP and os.path.islink(path):
            raise ImportRefused("is a symbolic link") from None
        raise ImportRefused(f"cannot be read ({os_reason(error)})") from None
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
        raise ImportRefused(f"cannot be read ({os_reason(error)})") from None
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES:
        raise ImportRefused("larger than 1 MB")
    return decode_article_bytes(b"".join(chunks))


def os_reason(error):
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
    content: bytes | None  # None once stored as an Image's file
    checksum: str  # sha256 of the file as found, as Image.checksum


def photo_names(path):
    """The names (paths, for a path) the photo of a story file may have, in
    the order they are looked for: its stem and a photo extension, in lower or
    upper case ("storm.txt": storm.jpg, storm.JPG, storm.jpeg, ...)."""
    stem = os.path.splitext(path)[0]
    return [
        stem + case(extension)
        for extension in PHOTO_EXTENSIONS
        for case in (str.lower, str.upper)
    ]


def find_photo(path, names_in_folder=None):
    """The photo beside a story file (same stem), or None; ImportRefused if it
    cannot be read or is not an image we accept.

    `names_in_folder`, the folder's file names if the caller listed it, spares
    looking for each possible photo name on disk (most stories have none).
    """
    candidates = photo_names(path)
    if names_in_folder is not None:
        candidates = [
            candidate
            for candidate in candidates
            if os.path.basename(candidate) in names_in_folder
        ]
    found = [
        candidate
        for candidate in candidates
        if os.path.islink(candidate) or os.path.isfile(candidate)
    ]
    if not found:
        return None
    photo = Path(found[0])
    if photo.is_symlink():
        raise ImportRefused(f"photo {photo.name} is a symbolic link")
    try:
        with photo.open("rb") as file:
            # The limit and checks of a photo uploaded in the admin.
            content = read_upload(file)
            decode(content, photo.name).close()
    except OSError as error:
        reason = os_reason(error)
        raise ImportRefused(f"photo {photo.name} cannot be read ({reason})") from None
    except ValidationError as error:
        reason = " ".join(error.messages).rstrip(".")
        raise ImportRefused(f"photo {photo.name}: {reason}") from None
    return BesidePhoto(photo.name, content, hashlib.sha256(content).hexdigest())


def max_length(model, field_name):
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
    headline_limit = max_length(Article, "headline")
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
        ("image caption", parsed.image_caption, max_length(Article, "image_caption")),
        ("image credit", parsed.image_credit, max_length(Article, "image_credit")),
    ] + [
        ("related story title", story.title, max_length(RelatedLink, "title"))
        for story in parsed.related
    ]
    for what, value, limit in limits:
        if len(value) > limit:
            raise ImportRefused(f"{what} longer than {limit} characters ({len(value)})")


def is_story_file(name):
    """Whether a file of this name (or path) is a story to import: *.txt in any
    letter case, and not hidden (a dot-file is a system's, an editor's or a
    download's own, never a story)."""
    name = os.path.basename(name)
    return not name.startswith(".") and name.lower().endswith(STORY_SUFFIX)


def story_files_in(folder):
    """A folder's story files (not its subfolders'), in name order."""
    return sorted(path for path in Path(folder).iterdir() if is_story_file(path))


def expand_paths(paths):
    """The files to import: a folder stands for its story files, in name order.

    A symbolic link, to a folder or a file, stays as it is given: the importer
    refuses it rather than follow it.
    """
    files = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            files.extend(story_files_in(path))
        else:
            files.append(path)
    return files
