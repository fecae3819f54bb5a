"""What the importer remembers of each source file: editors' changes win over the wire.

A story imported from a file is known by the file's name (its source), never by
its headline. `ImportedSource` holds, per source:

- the story it made (empty once the story is deleted, with who deleted it and
  when: later imports of that file skip it unless run with `--undelete`);
- what the last import of that file wrote into each imported field and its
  related links, so that the next import can tell an editor's change from its own
  (a three-way comparison: what the last import wrote, the story now, the file);
- the pending wire update: the file's version of each field an editor had
  changed when the file changed it too. Editors apply or dismiss it in the admin.

The importer (articles/ingest/store.py) does the comparing; this module holds the
rules it and the admin share.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import models
from django.db.models import F, Q
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver
from django.utils import timezone

from articles.models import Article, Image

# The story's fields an import fills in, in the order editors see them. The lead
# photo is compared by its file's checksum (what the last import wrote) and kept
# pending as the Image's pk.
TEXT_FIELDS = ("headline", "standfirst", "body", "image_caption", "image_credit")
PHOTO = "lead_image"
IMPORTED_FIELDS = (*TEXT_FIELDS, PHOTO)
# The key of the related links ([title, summary] of each) in ImportedSource.imported.
LINKS = "links"
UNKNOWN_USER = "unknown"


class ImportedSource(models.Model):
    name = models.CharField(
        max_length=255,
        unique=True,
        help_text="The file name stories are imported from (Article.source).",
    )
    article = models.OneToOneField(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="imported_source",
        help_text="The story this file made; empty once it was deleted.",
    )
    imported = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the last import of this file wrote into each imported "
        "field (the photo as its checksum) and its related links; moves with "
        "each import that writes a field, and when an editor applies or "
        "dismisses a wire update.",
    )
    pending = models.JSONField(
        default=dict,
        blank=True,
        help_text="The file's version of each field an editor had changed when "
        "the file changed it too (the photo as an Image id).",
    )
    pending_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the waiting wire update last changed; empty when none waits.",
    )
    duplicate_of = models.ForeignKey(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="A story this file may duplicate: one that had the same "
        "headline, or a body nearly the same, when the file was first imported. "
        "Emptied when an editor dismisses the flag.",
    )
    duplicate_similarity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="How similar the file's body was to the duplicated story's, "
        "in percent (articles/ingest/duplicates.py); empty when only the "
        "headline was the same.",
    )
    deleted_by = models.CharField(
        max_length=150, blank=True, help_text="Who deleted the file's story."
    )
    deleted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the file's story was deleted."
    )

    class Meta:
        verbose_name = "imported source"

    def __str__(self):
        return self.name

    @property
    def is_deleted(self):
        return self.article_id is None and self.deleted_at is not None


# The three-way comparison ---------------------------------------------------------

KEEP = "keep"  # the file did not change the field: the story keeps its value
APPLY = "apply"  # only the file changed it: the story takes the file's value
AGREE = "agree"  # the editor already made the file's change
CONFLICT = "conflict"  # both changed it: the editor's stays, the file's waits


def three_way(last_imported, current, incoming):
    """What an import does to one field, given what the last import of the
    file wrote, the story's value now and the file's value."""
    if incoming == last_imported:
        return KEEP
    if current == last_imported:
        return APPLY
    if current == incoming:
        return AGREE
    return CONFLICT


def label(name):
    """The label editors know the story's field by ("Image caption")."""
    from articles.history import field_label

    return field_label(Article._meta.get_field(name))


def photo_checksum(article):
    return article.lead_image.checksum if article.lead_image_id else None


# Deleted stays deleted ------------------------------------------------------------

_deleting = threading.local()


@contextmanager
def deletions_by(user):
    """Credit the stories deleted in this block to `user` (the admin's user)."""
    previous = getattr(_deleting, "user", None)
    _deleting.user = user.get_username()
    try:
        yield
    finally:
        _deleting.user = previous


@receiver(pre_delete, sender=Article, dispatch_uid="remember-deleted-source")
def remember_deleted_source(sender, instance, using, **kwargs):
    """However a story is deleted (admin, bulk action, code), its file stays
    known as deleted, so no later import brings it back."""
    if not instance.source:
        return  # Written here: no file would bring it back.
    deleted = {
        "deleted_by": getattr(_deleting, "user", None) or UNKNOWN_USER,
        "deleted_at": timezone.now(),
    }
    sources = ImportedSource.objects.using(using)
    if not sources.filter(article_id=instance.pk).update(**deleted):
        # Imported before sources were remembered, or made in code.
        sources.get_or_create(name=instance.source, defaults=deleted)


@receiver(post_save, sender=Article, dispatch_uid="recovered-story-finds-its-source")
def relink_recovered_story(sender, instance, raw, using, **kwargs):
    """A story saved raw (reversion's revert, loaddata) is its file's again."""
    if raw:
        relink_recovered(instance, using)


def relink_recovered(article, using=None):
    """A deleted story recovered from its revisions is the file's story again.
    (The admin's recover form calls this; a post_save for every new story would
    cost the importer a query each.)"""
    if article.source:
        ImportedSource.objects.using(using).filter(
            name=article.source, article__isnull=True
        ).update(article=article, deleted_by="", deleted_at=None)


# What editors see and do ----------------------------------------------------------

WAITING = Q(imported_source__pending_since__isnull=False)
# A body nearly the same as the story it may duplicate's, or still under the
# same headline; until an editor dismisses the flag.
POSSIBLE_DUPLICATE = Q(imported_source__duplicate_of__isnull=False) & (
    Q(imported_source__duplicate_similarity__isnull=False)
    | Q(headline=F("imported_source__duplicate_of__headline"))
)


def dismiss_duplicate_flags(articles):
    """The editor found these stories are not copies: no longer listed (a
    near-duplicate draft stays a normal draft). Returns how many were flagged."""
    return ImportedSource.objects.filter(
        article__in=articles.filter(POSSIBLE_DUPLICATE)
    ).update(duplicate_of=None, duplicate_similarity=None)


@dataclass
class PendingField:
    name: str
    label: str
    current: str  # safe HTML with the words the update removes in <del>
    incoming: str  # safe HTML with the words it adds in <ins>


def pending_fields(article, source):
    """The fields of the waiting wire update, each with the difference marked."""
    from articles.history import marked_difference

    images = Image.objects.in_bulk(
        [source.pending[PHOTO]] if PHOTO in source.pending else []
    )
    fields = []
    for name in IMPORTED_FIELDS:
        if name not in source.pending:
            continue
        if name == PHOTO:
            current = str(article.lead_image or "(no photo)")
            incoming = str(images.get(source.pending[PHOTO], "(photo since deleted)"))
        else:
            current, incoming = getattr(article, name), source.pending[name]
        fields.append(
            PendingField(name, label(name), *marked_difference(current, incoming))
        )
    return fields


def settle_pending(article, names, apply):
    """Apply the waiting versions of these fields to the story, or dismiss them.

    Either way the file's version counts as imported, so importing the same file
    again does not bring them back. Returns the labels of the fields settled.
    Call inside a transaction; the story is saved (a revision) when applied.
    """
    article = Article.objects.select_for_update(of=("self",)).get(pk=article.pk)
    source = ImportedSource.objects.filter(article=article).first()
    if source is None:
        return []  # Written here: no wire update can wait.
    settled = [
        name for name in IMPORTED_FIELDS if name in names and name in source.pending
    ]
    for name in settled:
        value = source.pending.pop(name)
        if name == PHOTO:
            image = Image.objects.filter(pk=value).first()
            if image is None:
                continue  # Deleted from the library since: nothing to apply.
            source.imported[PHOTO] = image.checksum
            if apply:
                article.lead_image = image
        else:
            source.imported[name] = value
            if apply:
                setattr(article, name, value)
    if not source.pending:
        source.pending_since = None
    source.save(update_fields=["imported", "pending", "pending_since"])
    if apply and settled:
        article.save()
    return [label(name) for name in settled]
