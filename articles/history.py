"""What changed in an article, when, and by whom: revisions and the "Updated" notice.

Revisions are kept with django-reversion. One revision is a snapshot of the article
with its topics (the TaggedArticle rows), people and related links, taken when the
admin request, import or bulk action that changed it ends, credited to a user or to
a comment such as "import: 2024-05-01-story.txt". Corrections are not part of it:
restoring an old revision never takes a published correction back.

- The admin (VersionAdmin) records the revision of each change form it saves.
  Bulk actions and topic merges record one revision per article (`record_each`):
  a revision belongs to one story.
- Restoring reads the article's own rows of a revision and changes that article
  alone (`revision_state`, `restore_links`; the admin's restore form): never
  reversion's Revision.revert, which saves every row of the revision and deletes
  what they have gained since, nor its revision view, which mutes model signals
  for every thread while it renders.
- The importer writes each file's revision itself (`ingest.rawsql.save_import_revision`,
  credited "import: <file name>"): the same rows reversion writes, from rows it holds.
- A save anywhere else still gets a revision, taken when its transaction commits.
"""

import dataclasses
import difflib
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import reversion
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from reversion.models import Version

from articles import richtext
from articles.models import (
    Article,
    Correction,
    Image,
    Person,
    RelatedLink,
    TaggedArticle,
    Topic,
)

# Tags are not serialisable fields; their TaggedArticle rows are followed.
# The edit version (articles/conflicts.py) counts saves: no state to restore, and
# it moves with relation changes after the snapshot is taken.
NOT_IN_SNAPSHOTS = {Article: ("tags", "version")}

if not reversion.is_registered(Article):
    reversion.register(RelatedLink)
    reversion.register(TaggedArticle)
    reversion.register(
        Article,
        exclude=NOT_IN_SNAPSHOTS[Article],
        follow=("taggedarticle_set", "related_links"),
        # Not ignore_duplicates: it compares only the article's own fields, so a
        # change to its topics or links alone (a topic merge) would go unrecorded.
        # Several saves in one revision block make one version all the same.
    )


@contextmanager
def revision_context(user=None, comment="", manage_manually=False):
    """Record every article saved in the block as one revision, in one transaction.

    `user` is who made the change; an import has none and names its file in
    `comment` instead: `with revision_context(comment="import: story.txt"): ...`.
    Inside an admin request the block joins the request's own revision. With
    `manage_manually`, saves are not recorded as they happen: call
    `add_to_current_revision` once the article is complete (one snapshot instead
    of one per save and relation change).
    """
    with reversion.create_revision(manage_manually=manage_manually):
        if user is not None:
            reversion.set_user(user)
        if comment:
            reversion.set_comment(comment)
        yield


def add_to_current_revision(article):
    """Include an article whose relations changed but which was not saved itself."""
    reversion.add_to_revision(article)


def record_each(articles, user=None, comment=""):
    """One revision for each of `articles`, as it now is, credited to `user`
    with `comment`: work that changes many stories (a bulk action, a topic
    merge) keeps a revision per story, which restores that story alone.

    Outside any revision block: inside one, the revisions would merge into it.
    """
    if reversion.is_active():
        raise RuntimeError(
            "record_each() inside a revision block would record one revision "
            "for all the articles; call it outside revision_context()."
        )
    for article in articles:
        with revision_context(user=user, comment=comment):
            reversion.add_to_revision(article)


def set_revision_comment(comment):
    """Describe the revision being recorded (inside `revision_context`)."""
    reversion.set_comment(comment)


# Revisions the importer writes ---------------------------------------------------
#
# reversion takes a snapshot by following each relation with a query, serialising
# every row through Django's serializers, checking with a query per model that
# the rows still exist and reading the latest version to skip duplicates: a
# dozen queries and several milliseconds an article, most of an import's time.
# The importer holds every row it just stored, so it writes the same Revision and
# Version rows itself (articles/ingest/rawsql.py: save_import_revision), from an
# ArticleSnapshot. tests/test_importer_revisions.py checks they are the rows
# reversion would write, and that history and restore read them.


@dataclass
class ArticleSnapshot:
    """An article as it stands at the end of a change, from rows the caller holds."""

    article: Article
    # (pk, name) of each person linked to it.
    people: list = dataclasses.field(default_factory=list)
    # (pk, topic pk) of each of its TaggedArticle rows.
    topics: list = dataclasses.field(default_factory=list)
    links: list[RelatedLink] = dataclasses.field(default_factory=list)


_recording_itself = threading.local()


@contextmanager
def revision_written_by_caller():
    """Saves in this block are not recorded after commit: the caller records
    the revisions itself, with `save_import_revision` or `record_each`."""
    previous = getattr(_recording_itself, "active", False)
    _recording_itself.active = True
    try:
        yield
    finally:
        _recording_itself.active = previous


# Articles saved in this thread whose revisions wait for their transaction's commit.
_unattended = threading.local()


@receiver(post_save, sender=Article, dispatch_uid="revision-for-unattended-save")
def record_unattended_save(sender, instance, raw, using, **kwargs):
    if raw or reversion.is_active() or getattr(_recording_itself, "active", False):
        return
    _unattended.__dict__.setdefault("waiting", set()).add(instance.pk)
    # After the commit, so the snapshot has the topics and links saved with it.
    transaction.on_commit(_record_waiting_revisions, using=using)


def _record_waiting_revisions():
    """One revision for each article saved, however often it was saved: the
    first callback after a commit records them all, the others find none left.
    (An article whose save was rolled back stays waiting; the next commit records
    it as it then is, which is still a true snapshot.)"""
    waiting, _unattended.waiting = getattr(_unattended, "waiting", set()), set()
    for article in Article.objects.filter(pk__in=waiting).order_by("pk"):
        with revision_context(comment="Saved outside the admin and the importer"):
            reversion.add_to_revision(article)


# The "Updated" notice.

# The body's text, not its HTML: a formatting-only change is not an update.
CONTENT_FIELDS = ("headline", "standfirst", "body_text")


@receiver(pre_save, sender=Article, dispatch_uid="stamp-content-update")
def stamp_content_update(sender, instance, raw, **kwargs):
    """Move content_updated_at when readers saw one text and now get another."""
    minor_edit, instance.minor_edit = instance.minor_edit, False
    if instance.pk is None:
        return
    before = (
        Article._base_manager.filter(pk=instance.pk)
        .values(*CONTENT_FIELDS, "status", "published_at", "content_updated_at")
        .first()
    )
    if before is None:
        return
    was_public = (
        before["status"] == Article.Status.PUBLISHED
        and before["published_at"] is not None
        and before["published_at"] <= timezone.now()
    )
    text_changed = any(
        before[name] != getattr(instance, name) for name in CONTENT_FIELDS
    )
    if was_public and text_changed and not minor_edit:
        instance.content_updated_at = timezone.now()
    elif raw:
        # A restored snapshot brings its text back, not its older notice time.
        instance.content_updated_at = before["content_updated_at"]


@receiver(post_save, sender=Correction, dispatch_uid="correction-saved-touches-article")
@receiver(
    post_delete, sender=Correction, dispatch_uid="correction-gone-touches-article"
)
def touch_corrected_article(sender, instance, **kwargs):
    """A correction added, edited or removed changes the article's page, so the
    article's updated_at moves: its ETag, Last-Modified and feed entries follow.
    (An update() leaves the "Updated" notice and the revisions alone.)"""
    if kwargs.get("raw"):
        return
    Article.objects.filter(pk=instance.article_id).update(updated_at=timezone.now())


# Reading revisions back: snapshots and field-by-field differences.

UNTRACKED_FIELDS = {
    "id",
    "created_at",
    "updated_at",
    "content_updated_at",
    "version",
    "body_text",  # derived from the body, whose changes are shown
}
TOPICS, PEOPLE, LINKS = "Topics", "People", "Related links"


def tracked_fields():
    return [
        field
        for field in Article._meta.concrete_fields
        if field.name not in UNTRACKED_FIELDS
    ]


def field_label(field):
    return str(field.verbose_name)[:1].upper() + str(field.verbose_name)[1:]


@dataclass
class RevisionEntry:
    version: Version
    snapshot: dict
    changed: list

    @property
    def revision(self):
        return self.version.revision


def article_history(article):
    """Every revision of `article`, oldest first, each with what it changed.

    A fixed number of queries, however many revisions there are.
    """
    versions = list(
        Version.objects.get_for_object(article)
        .select_related("revision__user")
        .order_by("revision__date_created", "pk")
    )
    related = _related_versions(article, [v.revision_id for v in versions])
    names = _names(versions, related)
    entries, previous = [], {}
    for version in versions:
        snapshot = _snapshot(version, related.get(version.revision_id, []), names)
        entries.append(
            RevisionEntry(version, snapshot, changed_labels(previous, snapshot))
        )
        previous = snapshot
    return entries


def _related_versions(article, revision_ids):
    """Revision id -> versions of the article's TaggedArticle and RelatedLink rows."""
    types = ContentType.objects.get_for_models(TaggedArticle, RelatedLink)
    by_revision = {}
    for version in Version.objects.filter(
        revision_id__in=revision_ids, content_type__in=types.values()
    ):
        fields = version.field_dict
        owner = fields.get("content_object_id", fields.get("article_id"))
        if owner == article.pk:
            by_revision.setdefault(version.revision_id, []).append(version)
    return by_revision


def _names(versions, related):
    """Names of the topics, people and linked articles the snapshots mention."""
    person_ids = {pk for v in versions for pk in v.field_dict.get("people", [])}
    tag_ids, target_ids = set(), set()
    for version in (v for group in related.values() for v in group):
        fields = version.field_dict
        if "tag_id" in fields:
            tag_ids.add(fields["tag_id"])
        elif fields.get("target_id"):
            target_ids.add(fields["target_id"])
    return {
        "topics": dict(Topic.objects.filter(pk__in=tag_ids).values_list("pk", "name")),
        "people": dict(
            Person.objects.filter(pk__in=person_ids).values_list("pk", "name")
        ),
        "targets": dict(
            Article.objects.filter(pk__in=target_ids).values_list("pk", "headline")
        ),
    }


def _snapshot(version, related_versions, names):
    """Label -> text of everything an editor can change, as of this version."""
    fields = version.field_dict
    snapshot = {
        field_label(field): display_value(field, fields.get(field.attname))
        for field in tracked_fields()
    }
    related = [v.field_dict for v in related_versions]
    topics = [
        names["topics"].get(r["tag_id"], "(deleted topic)")
        for r in related
        if "tag_id" in r
    ]
    snapshot[TOPICS] = ", ".join(sorted(topics, key=str.lower))
    people = [
        names["people"].get(pk, "(deleted person)") for pk in fields.get("people", [])
    ]
    snapshot[PEOPLE] = ", ".join(sorted(people, key=str.lower))
    links = sorted(
        (r for r in related if "title" in r), key=lambda r: (r["position"], r["id"])
    )
    snapshot[LINKS] = "\n".join(_link_text(link, names) for link in links)
    return snapshot


def _link_text(link, names):
    where = link["url"] or names["targets"].get(link["target_id"], "")
    return link_line(link["title"], where, link.get("summary", ""))


def link_line(title, where, summary):
    """One line per link: its title, where it leads, and its summary if any."""
    text = f"{title} — {where}" if where else title
    summary = " ".join(summary.split())
    return f"{text}: {summary}" if summary else text


def display_value(field, value):
    """A field's value as editors read it in a diff (choices by label)."""
    if value is None or value == "":
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if hasattr(value, "tzinfo"):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT")
    return str(value)


def revision_changes(article, version_id):
    """(entry, field changes against the revision before it), or None."""
    entries = article_history(article)
    for index, entry in enumerate(entries):
        if entry.version.pk == version_id:
            before = entries[index - 1].snapshot if index else {}
            return entry, field_changes(before, entry.snapshot)
    return None


def changed_labels(before, after):
    return [label for label, text in after.items() if before.get(label, "") != text]


@dataclass
class FieldChange:
    label: str
    before: str
    after: str


def field_changes(before, after):
    """The changed fields with the removed and added words marked, HTML-escaped."""
    return [
        FieldChange(label, *_difference(label)(before.get(label, ""), after[label]))
        for label in changed_labels(before, after)
    ]


BODY_LABEL = field_label(Article._meta.get_field("body"))
FORMATTING_CHANGED = "Formatting changed; the text is the same."


def _difference(label):
    return body_difference if label == BODY_LABEL else marked_difference


def body_difference(before, after):
    """The bodies' text compared word by word; when only the markup differs
    (a subheading, bold, a link, a photo), says so."""
    before_text, after_text = (
        richtext.to_text(richtext.clean(body)) for body in (before, after)
    )
    if before and before_text == after_text:
        return escape(FORMATTING_CHANGED), escape(FORMATTING_CHANGED)
    return marked_difference(before_text, after_text)


# Restoring one article from a revision.
#
# A revision may hold several articles (one recorded before bulk actions kept a
# revision per article), so a restore reads only the rows of the article being
# restored, and changes nothing else: not the other articles, not anything the
# revision does not name. reversion's own revert (Revision.revert) would save
# every row of the revision and delete what they no longer have.

# The import identity: an editorial state never brings back another file name.
NOT_RESTORED = {"source"}


@dataclass
class RevisionState:
    """What one article was in a revision, in terms of rows that still exist."""

    version: Version
    # attname -> value of the article's own fields.
    fields: dict
    topics: list[Topic]
    person_ids: list
    # attname -> value of each related link, in page order.
    links: list[dict]
    # Each link as the history shows it.
    link_lines: list[str]
    # What the revision names that no longer exists, to tell the editor.
    left_out: list[str]

    @property
    def date_created(self):
        return self.version.revision.date_created


def revision_state(article, version):
    """The state `version` (one of `article`'s) recorded for that article alone."""
    recorded = version.field_dict
    # Fields the article gained after the revision keep their current values.
    named = json.loads(version.serialized_data)[0]["fields"]
    fields = {
        field.attname: recorded[field.attname]
        for field in tracked_fields()
        if field.name not in NOT_RESTORED and field.name in named
    }
    related = _related_versions(article, [version.revision_id]).get(
        version.revision_id, []
    )
    topic_ids = [r.field_dict["tag_id"] for r in related if "tag_id" in r.field_dict]
    links = sorted(
        (r.field_dict for r in related if "title" in r.field_dict),
        key=lambda link: (link["position"], link["id"]),
    )
    person_ids = recorded.get("people", [])
    topics = Topic.objects.filter(pk__in=topic_ids).order_by("name")
    people = set(Person.objects.filter(pk__in=person_ids).values_list("pk", flat=True))
    targets = dict(
        Article.objects.filter(
            pk__in=[link["target_id"] for link in links if link["target_id"]]
        ).values_list("pk", "headline")
    )
    left_out = [
        f"topic #{pk}" for pk in sorted(set(topic_ids) - {t.pk for t in topics})
    ]
    left_out += [f"person #{pk}" for pk in person_ids if pk not in people]
    image_id = fields.get("lead_image_id")
    if image_id and not Image.objects.filter(pk=image_id).exists():
        fields["lead_image_id"] = None
        left_out.append(f"lead image #{image_id}")
    for link in links:
        if link["target_id"] and link["target_id"] not in targets:
            left_out.append(f"the article linked as “{link['title']}”")
            link["target_id"] = None
    return RevisionState(
        version=version,
        fields=fields,
        topics=list(topics),
        person_ids=[pk for pk in person_ids if pk in people],
        links=links,
        link_lines=[_link_text(link, {"targets": targets}) for link in links],
        left_out=left_out,
    )


def restore_links(article, links):
    """Make `article`'s related links the given ones (from `revision_state`):
    links it still has are updated, links it lost come back (under their old
    key when no other row took it), links added since are removed."""
    current = {link.pk: link for link in article.related_links.all()}
    taken = set(
        RelatedLink.objects.filter(pk__in=[data["id"] for data in links])
        .exclude(article=article)
        .values_list("pk", flat=True)
    )
    kept = []
    for data in links:
        link = current.get(data["id"])
        if link is None:
            link = RelatedLink(article=article)
            if data["id"] not in taken:
                link.pk = data["id"]
        values = {
            name: value
            for name, value in data.items()
            if name not in ("id", "article_id")
        }
        if link._state.adding or any(
            getattr(link, name) != value for name, value in values.items()
        ):
            for name, value in values.items():
                setattr(link, name, value)
            link.save()
        kept.append(link.pk)
    article.related_links.exclude(pk__in=kept).delete()


# Differences are found paragraph by paragraph, then word by word only inside the
# paragraphs that changed, so a long story's diff costs time in step with its
# length, not its square. A changed stretch with more word pairs to weigh than
# WORD_DIFF_LIMIT is shown as replaced, whole; so is every stretch once a diff
# has weighed WORD_DIFF_BUDGET pairs in all (many long paragraphs all changed).
WORD_DIFF_LIMIT = 250_000
WORD_DIFF_BUDGET = 1_000_000

_PARAGRAPH_BREAK = re.compile(r"(\n[^\S\n]*\n\s*)")
_SPACES = re.compile(r"(\s+)")
# An opcode of our own: a stretch too long to compare, shown replaced.
REPLACED_WHOLE = "replaced whole"


def marked_difference(before, after):
    """(before, after) as safe HTML: removed words in <del>, added ones in <ins>."""
    old_html, new_html = [], []
    old_paragraphs, new_paragraphs = _paragraphs(before), _paragraphs(after)
    budget = _Budget(WORD_DIFF_BUDGET)
    # Paragraphs repeated through a long text are junk to SequenceMatcher
    # (autojunk), which keeps it fast; the word-level pass is exact.
    for operation, old_start, old_end, new_start, new_end in _opcodes(
        [text for text, _ in old_paragraphs],
        [text for text, _ in new_paragraphs],
        autojunk=True,
    ):
        old_part = old_paragraphs[old_start:old_end]
        new_part = new_paragraphs[new_start:new_end]
        if operation == "equal":
            old_html.extend(escape(text + gap) for text, gap in old_part)
            new_html.extend(escape(text + gap) for text, gap in new_part)
        elif len(old_part) == len(new_part):
            # Paragraphs edited in place: each against its counterpart.
            for (old_text, old_gap), (new_text, new_gap) in zip(
                old_part, new_part, strict=True
            ):
                old_marked, new_marked = _marked_words(old_text, new_text, budget)
                old_html += [old_marked, escape(old_gap)]
                new_html += [new_marked, escape(new_gap)]
        else:
            old_marked, new_marked = _marked_words(
                _joined(old_part), _joined(new_part), budget
            )
            old_html += [old_marked, escape(_trailing_gap(old_part))]
            new_html += [new_marked, escape(_trailing_gap(new_part))]
    # Every piece went through escape() or format_html().
    return mark_safe("".join(old_html)), mark_safe("".join(new_html))


def _paragraphs(text):
    """[(paragraph, the blank lines after it)], which join back into `text`."""
    pieces = _PARAGRAPH_BREAK.split(text)
    pieces.append("")
    return [
        (pieces[index], pieces[index + 1])
        for index in range(0, len(pieces) - 1, 2)
        if pieces[index] or pieces[index + 1]
    ]


@dataclass
class _Budget:
    """Word pairs a diff may still weigh."""

    pairs: int

    def spend(self, pairs):
        """Whether `pairs` fit (within WORD_DIFF_LIMIT too); spends them if so."""
        if pairs > min(self.pairs, WORD_DIFF_LIMIT):
            return False
        self.pairs -= pairs
        return True


def _opcodes(old, new, *, autojunk, budget=None):
    """SequenceMatcher's opcodes for two lists, after matching the items both
    begin and end with (one edit in a long story is then a single comparison).
    When the middle's pairs do not fit the `budget`, it is one REPLACED_WHOLE."""
    shorter = min(len(old), len(new))
    head = 0
    while head < shorter and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shorter - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    old_middle, new_middle = old[head : len(old) - tail], new[head : len(new) - tail]
    if head:
        yield "equal", 0, head, 0, head
    if budget is not None and not budget.spend(len(old_middle) * len(new_middle)):
        middle = [(REPLACED_WHOLE, 0, len(old_middle), 0, len(new_middle))]
    else:
        matcher = difflib.SequenceMatcher(
            None, old_middle, new_middle, autojunk=autojunk
        )
        middle = matcher.get_opcodes()
    for operation, old_start, old_end, new_start, new_end in middle:
        if old_start == old_end and new_start == new_end:
            continue
        yield (
            operation,
            old_start + head,
            old_end + head,
            new_start + head,
            new_end + head,
        )
    if tail:
        yield "equal", len(old) - tail, len(old), len(new) - tail, len(new)


def _joined(paragraphs):
    """Consecutive paragraphs as one text, without the gap after the last."""
    return "".join(text + gap for text, gap in paragraphs[:-1]) + (
        paragraphs[-1][0] if paragraphs else ""
    )


def _trailing_gap(paragraphs):
    return paragraphs[-1][1] if paragraphs else ""


def _marked_words(before, after, budget):
    """One changed stretch marked word by word. In a run of words replaced by
    others, they pair one to one and the last pair takes what is left of the
    longer side; words only removed or added are one mark. When the stretch's
    word pairs do not fit the budget, what lies between the words both begin
    and end with is marked as replaced, whole."""
    old_pieces, new_pieces = _pieces(before), _pieces(after)
    old_html, new_html = [], []
    for operation, old_start, old_end, new_start, new_end in _opcodes(
        old_pieces[::2], new_pieces[::2], autojunk=False, budget=budget
    ):
        if operation == "equal":
            old_html.append(escape(_words(old_pieces, old_start, old_end, True)))
            new_html.append(escape(_words(new_pieces, new_start, new_end, True)))
            continue
        paired = 0
        if operation == "replace":
            paired = min(old_end - old_start, new_end - new_start) - 1
        for offset in range(paired):
            old_html.append(_marked(old_pieces, old_start + offset, 1, "del"))
            new_html.append(_marked(new_pieces, new_start + offset, 1, "ins"))
        old_html.append(
            _marked(old_pieces, old_start + paired, old_end - old_start - paired, "del")
        )
        new_html.append(
            _marked(new_pieces, new_start + paired, new_end - new_start - paired, "ins")
        )
    return "".join(old_html), "".join(new_html)


def _pieces(text):
    """Words at even places, the spaces between them at odd ones (none for no
    text; an empty word first or last where the text begins or ends with a
    space)."""
    return _SPACES.split(text) if text else []


def _words(pieces, start, end, with_space_after=False):
    """Words `start` to `end` with the spaces between them (and after them)."""
    if start == end:
        return ""
    return "".join(pieces[2 * start : 2 * end - (0 if with_space_after else 1)])


def _marked(pieces, start, count, tag):
    """`count` words from `start` inside one <tag>, the spaces around them
    outside (a text that begins or ends with a space has an empty word there)."""
    if not count:
        return ""
    stretch = _words(pieces, start, start + count)
    after = "".join(pieces[2 * (start + count) - 1 : 2 * (start + count)])
    core = stretch.strip()
    if not core:
        return escape(stretch + after)
    lead = stretch[: len(stretch) - len(stretch.lstrip())]
    trail = stretch[len(stretch.rstrip()) :]
    return escape(lead) + _mark(core, tag) + escape(trail + after)


def _mark(text, tag):
    return format_html("<{}>{}</{}>", mark_safe(tag), text, mark_safe(tag))
