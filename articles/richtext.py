"""Story bodies: sanitised HTML from one allowlist, and the text inside it.

`Article.body` holds HTML made only of the elements below; `clean()` removes
everything else, whichever way a body arrives (admin, import, code, a restored
revision). Two elements carry references instead of addresses, so that they
follow the story or photo they point to:

- a story link, ``<a data-story="12">text</a>``: rendered with the story's
  current address, or as plain text once the story is unpublished or deleted;
- an inline photo, ``<figure data-image="40"></figure>``: rendered like the
  lead photo, from the image library.

Nothing here queries the database: `render()` is handed what the ids resolve to
(articles/templatetags/story_body.py looks them up, one query each).
"""

import functools
import re
from dataclasses import dataclass, field
from html import escape as _html_escape
from html import unescape

from django.utils.html import escape

# Block elements; text inside each one is a paragraph of the body's text.
BLOCK_TAGS = frozenset({"p", "h2", "h3", "blockquote", "ul", "ol", "li", "figure"})
ALLOWED_TAGS = BLOCK_TAGS | {"cite", "strong", "em", "a", "br"}
STORY_ATTRIBUTE = "data-story"
IMAGE_ATTRIBUTE = "data-image"
ALLOWED_ATTRIBUTES = {
    "a": {"href", STORY_ATTRIBUTE},
    "figure": {IMAGE_ATTRIBUTE},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Removed with everything inside them: their text is code, not prose.
REMOVED_WITH_CONTENT = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "noscript",
        "noembed",
        "noframes",
        "template",
        "svg",
        "math",
        "textarea",
        "select",
        "title",
        "xmp",
    }
)
_ABSOLUTE_ADDRESS = re.compile(r"(?i)^(https?://|mailto:)\S")
_TAG = re.compile(r"<[a-zA-Z/!?]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Characters the sanitiser drops or rewrites in text (NUL; CR becomes LF).
_SANITISER_REWRITES = re.compile("[\0\r]")


def _allowed_value(tag, attribute, value):
    """Ids must be plain numbers; links must be absolute (http, https, mailto):
    a relative address would change meaning with the page it is shown on."""
    if attribute in (STORY_ATTRIBUTE, IMAGE_ATTRIBUTE):
        return value if value.isascii() and value.isdigit() and int(value) else None
    if attribute == "href":
        return value if _ABSOLUTE_ADDRESS.match(value) else None
    return value


@functools.cache
def _cleaner():
    """nh3's cleaner, made on the first save: readers never load nh3."""
    import nh3

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_allowed_value,
        clean_content_tags=set(REMOVED_WITH_CONTENT),
        url_schemes=set(URL_SCHEMES),
        # Stored as written; rel is not needed on links without target="_blank".
        link_rel=None,
    )


def image_marker(image_id):
    """How a clean body names an inline image, to find the bodies using it."""
    return f'{IMAGE_ATTRIBUTE}="{int(image_id)}"'


def is_html(body):
    """Whether a body is HTML; one without a single tag is plain text."""
    return bool(_TAG.search(body))


def clean(body):
    """The body as sanitised HTML; plain text (no tag at all) becomes paragraphs.

    Idempotent: a clean body comes back unchanged.
    """
    return clean_with_text(body)[0]


def clean_with_text(body):
    """(the clean body, its text), reading it once."""
    body = body.replace("\r\n", "\n")
    if is_html(body):
        cleaned = _cleaner().clean(body)
        parsed = parse(cleaned)
        wrapped = _wrap_loose_text(parsed.tokens)
        if wrapped is None:
            return cleaned, _text(parsed)
        cleaned = _cleaner().clean(wrapped)
    else:
        cleaned = from_text(body)
    return cleaned, to_text(cleaned)


def from_paragraphs(paragraphs):
    """HTML of one <p> per paragraph of text; a line break inside one is <br>.

    Written as the sanitiser writes it (one pass through it), so that a body
    built from text is already clean: an import compares equal to the body it
    stored.
    """
    html = "\n".join(
        "<p>{}</p>".format(
            "<br>".join(_html_escape(line, quote=False) for line in text.split("\n"))
        )
        for text in paragraphs
    )
    if _SANITISER_REWRITES.search(html):
        return _cleaner().clean(html)
    # The sanitiser would write this very HTML, but for the one character it
    # spells as an entity (tests/test_rich_body.py holds this for every
    # character): an import of thousands of stories is spared a pass each.
    return html.replace("\xa0", "&nbsp;")


def from_text(text):
    """Plain text with paragraphs separated by blank lines, as HTML."""
    return from_paragraphs(
        part.strip() for part in _PARAGRAPH_BREAK.split(text) if part.strip()
    )


def to_text(body):
    """The body's text: its paragraphs separated by blank lines, no markup."""
    return _text(parse(body))


def _text(parsed):
    return "\n\n".join(parsed.paragraphs)


def paragraphs(body):
    return parse(body).paragraphs


# Reading a clean body -----------------------------------------------------------


@dataclass
class ParsedBody:
    # (kind, tag or text, attributes): kind is "start", "end" or "text".
    tokens: list = field(default_factory=list)
    paragraphs: list = field(default_factory=list)
    story_ids: list = field(default_factory=list)
    image_ids: list = field(default_factory=list)


# Clean HTML is written one way only (by html5ever, through nh3): tags in lower
# case, attribute values in double quotes, "<" and "&" escaped in text. Reading
# that needs no general HTML parser; a regular expression tokenises it several
# times faster than html.parser, which matters on every import and page.
_TOKEN = re.compile(
    r"<(/?)([a-z][a-z0-9]*)((?:\s+[^\s=>/]+(?:=\"[^\"]*\")?)*)\s*/?>|([^<]+|<)"
)
_ATTRIBUTE = re.compile(r'([^\s=>/]+)(?:="([^"]*)")?')


def parse(body):
    """Tokens, text paragraphs and referenced ids of a clean body."""
    parsed = ParsedBody()
    tokens, line = parsed.tokens, []

    def end_paragraph():
        text = "\n".join(part.strip() for part in "".join(line).split("\n")).strip()
        if text:
            parsed.paragraphs.append(text)
        line.clear()

    for match in _TOKEN.finditer(body):
        closing, tag, attribute_text, text = match.groups()
        if text is not None:
            text = unescape(text)
            # A line break in the markup is a space; only <br> breaks a line.
            line.append(text.replace("\n", " "))
            tokens.append(("text", text, None))
            continue
        if tag in BLOCK_TAGS:
            end_paragraph()
        if closing:
            tokens.append(("end", tag, None))
            continue
        attributes = {
            name: unescape(value or "")
            for name, value in _ATTRIBUTE.findall(attribute_text)
        }
        if tag == "br":
            line.append("\n")
        elif tag == "a" and (story := _number(attributes.get(STORY_ATTRIBUTE))):
            parsed.story_ids.append(story)
        elif tag == "figure" and (image := _number(attributes.get(IMAGE_ATTRIBUTE))):
            parsed.image_ids.append(image)
        tokens.append(("start", tag, attributes))
    end_paragraph()
    return parsed


def _number(value):
    return int(value) if value and value.isascii() and value.isdigit() else None


VOID_TAGS = frozenset({"br"})


def _wrap_loose_text(tokens):
    """HTML with the text and inline elements outside any block put in <p>
    (a blank line in such text starts another), or None if there are none."""
    if not _has_loose_text(tokens):
        return None
    out, loose, depth = [], [], 0

    def flush():
        if any(kind != "text" or value.strip() for kind, value, _ in loose):
            html = "".join(_serialise(loose))
            out.extend(
                f"<p>{part}</p>"
                for part in _PARAGRAPH_BREAK.split(html)
                if part.strip()
            )
        else:
            out.extend(_serialise(loose))
        loose.clear()

    for token in tokens:
        kind, tag, _ = token
        if depth == 0 and (kind == "text" or tag not in BLOCK_TAGS):
            loose.append(token)
            continue
        flush()
        out.extend(_serialise([token]))
        if kind == "start" and tag not in VOID_TAGS:
            depth += 1
        elif kind == "end":
            depth -= 1
    flush()
    return "".join(out)


def _has_loose_text(tokens):
    depth = 0
    for kind, value, _ in tokens:
        if depth == 0 and (
            (kind == "text" and value.strip())
            or (kind == "start" and value not in BLOCK_TAGS)
        ):
            return True
        if kind == "start" and value not in VOID_TAGS:
            depth += 1
        elif kind == "end":
            depth -= 1
    return False


def _serialise(tokens):
    for kind, value, attributes in tokens:
        if kind == "text":
            yield _html_escape(value, quote=False)
        elif kind == "end":
            if value not in VOID_TAGS:
                yield f"</{value}>"
        else:
            yield "<{}{}>".format(
                value,
                "".join(
                    f' {name}="{_html_escape(v or "")}"'
                    for name, v in attributes.items()
                ),
            )


def render(parsed, story_urls, figure_html):
    """The body as HTML for readers.

    `story_urls` maps the ids of linked stories readers may see to their
    addresses (a link to any other story becomes its text); `figure_html(id)`
    returns the safe HTML of an inline photo, or "" for none.
    """
    out = []
    open_links = []  # per open <a>: whether its end tag is written
    skipping = 0  # depth inside a <figure> replaced as a whole
    for kind, value, attributes in parsed.tokens:
        if skipping:
            if kind != "text" and value == "figure":
                skipping += 1 if kind == "start" else -1
            continue
        if kind == "text":
            out.append(escape(value))
        elif kind == "start" and value == "figure":
            out.append(figure_html(_number(attributes.get(IMAGE_ATTRIBUTE))))
            skipping = 1
        elif kind == "start" and value == "a":
            href = _link_address(attributes, story_urls)
            open_links.append(bool(href))
            if href:
                out.append(f'<a href="{_html_escape(href)}">')
        elif kind == "end" and value == "a":
            if open_links and open_links.pop():
                out.append("</a>")
        elif kind == "start":
            out.append(f"<{value}>")
        elif value not in VOID_TAGS:
            out.append(f"</{value}>")
    return "".join(out)


def _link_address(attributes, story_urls):
    story = _number(attributes.get(STORY_ATTRIBUTE))
    if story is not None:
        return story_urls.get(story)
    return attributes.get("href")
