"""Edit conflicts: a change form saved after someone else saved the story.

Article.version moves on every change to a story however it is made: save()
stores the stored version plus one (read under the row lock, so a save from an
older copy moves it too), and the receivers below add one when its topics,
people, related links or corrections change (bulk actions and the importer
change those without saving the article). The admin's change form carries the
version it was opened at and a digest of the related-link and correction rows it
showed. Saving compares both with the stored ones while holding the article's
row lock (SELECT ... FOR UPDATE inside the request's transaction; on SQLite
every transaction takes the write lock when it starts), so of two saves racing
from one opened version exactly one goes through. The other editor gets a
conflict page: each field where the stored story and their form differ, marked
word by word, with a choice per field; the choice is posted with the version
seen on that page and checked again.

A version of our own rather than django-concurrency: its version field makes
every save() of a stale object raise RecordModifiedError, which the importer,
bulk actions and scripts would all have to handle; it moves the version only in
the article's own UPDATE (or, with TriggerVersionField, in database triggers,
which migrations that rebuild a SQLite table drop), so topics, people and rows
changed through other tables would go unnoticed; and its admin shows an error,
not a choice field by field. Ours is a field, a few receivers and one page.
"""

import hashlib
import json
from dataclasses import dataclass, field
from functools import partial

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from reversion.models import Version
from taggit.managers import TaggableManager

from articles.history import (
    body_difference,
    display_value,
    field_label,
    link_line,
    marked_difference,
)
from articles.models import Article, Byline, Correction, RelatedLink, TaggedArticle

# Rows edited inline on the change form: a change to them by anyone else since the
# form was opened is never overwritten (the editor keeps the stored rows).
INLINE_ROWS = {
    "bylines": Byline,
    "related_links": RelatedLink,
    "corrections": Correction,
}

# Names posted by the conflict page.
CHOICE_PREFIX = "conflict-choice-"
FIELDS_SHOWN = "conflict-fields"
ROWS_CHOICE = "conflict-rows"
THEIRS, MINE, STORED_ROWS = "theirs", "mine", "stored"

# Shown above the change form when it has other errors too; without them the
# conflict page takes its place.
CONFLICT_MESSAGE = (
    "Someone else saved this story after you opened it, so nothing was saved. "
    "Correct the errors below and save again to compare their version with yours."
)


# Moving the version -------------------------------------------------------------


def bump_versions(article_ids, instance=None):
    """Add one to the stored version of these articles (an UPDATE, so no signal:
    the page cache and the "Updated" notice are not touched), and to `instance`,
    the article object in hand, so that its next save() starts from it."""
    if getattr(instance, "_inserted_uncommitted", False):
        return
    Article.objects.filter(pk__in=article_ids).update(version=F("version") + 1)
    if instance is not None:
        instance.version += 1


@receiver(post_save, sender=Article, dispatch_uid="conflicts-article-created")
def article_created(sender, instance, created, raw, using, **kwargs):
    """Until its transaction commits, nobody can have opened a form at a new
    article's version: relations added meanwhile (the importer's topics and
    people, the admin's inlines) need not move it."""
    if created and not raw:
        instance._inserted_uncommitted = True
        transaction.on_commit(partial(_committed, instance), using=using)


def _committed(instance):
    instance._inserted_uncommitted = False


# The through model of each relation an editor sets on the form, and the lookup
# from Article to the other side.
RELATIONS = {Article.people.through: "people", TaggedArticle: "tags"}


@receiver(m2m_changed, dispatch_uid="conflicts-relations-changed")
def relations_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if sender not in RELATIONS:
        return
    if not reverse:
        if (action in ("post_add", "post_remove") and pk_set) or action == "post_clear":
            bump_versions([instance.pk], instance)
    elif action in ("post_add", "post_remove") and pk_set:
        bump_versions(list(pk_set))
    elif action == "pre_clear":
        # Afterwards the cleared articles cannot be found any more.
        lookup = RELATIONS[sender]
        bump_versions(
            list(
                Article.objects.filter(**{lookup: instance}).values_list(
                    "pk", flat=True
                )
            )
        )


@receiver(post_save, sender=Byline, dispatch_uid="conflicts-byline-saved")
@receiver(post_delete, sender=Byline, dispatch_uid="conflicts-byline-deleted")
@receiver(post_save, sender=RelatedLink, dispatch_uid="conflicts-link-saved")
@receiver(post_delete, sender=RelatedLink, dispatch_uid="conflicts-link-deleted")
@receiver(post_save, sender=Correction, dispatch_uid="conflicts-correction-saved")
@receiver(post_delete, sender=Correction, dispatch_uid="conflicts-correction-gone")
def inline_row_changed(sender, instance, **kwargs):
    cached = sender.article.is_cached(instance)
    bump_versions([instance.article_id], instance.article if cached else None)


@receiver(post_delete, sender=TaggedArticle, dispatch_uid="conflicts-topic-gone")
def topic_link_deleted(sender, instance, **kwargs):
    # A deleted topic takes its rows with it, without m2m_changed; an open form
    # would otherwise create it again from its name.
    bump_versions([instance.content_object_id])


@receiver(pre_save, sender=Article, dispatch_uid="conflicts-raw-save")
def raw_save_moves_the_version(sender, instance, raw, **kwargs):
    """A raw save (a revision restored, loaddata) writes the version its data
    holds, which may be older than the stored one: continue from the stored one."""
    if not raw or instance.pk is None:
        return
    stored = Article._base_manager.filter(pk=instance.pk).values_list(
        "version", flat=True
    )
    for version in stored:
        instance.version = version + 1


# What the form was opened at, and what is stored now ------------------------------


def rows_digest(article_id):
    """A digest of the article's inline rows as stored: it changes when anyone
    adds, edits or removes one, by whatever route."""
    rows = {
        relation: list(
            model._base_manager.filter(article_id=article_id)
            .order_by("pk")
            .values_list(*(f.attname for f in model._meta.concrete_fields))
        )
        for relation, model in INLINE_ROWS.items()
    }
    text = json.dumps(rows, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_version(article_id, lock=False):
    """The article's stored version (None if deleted), locking its row with
    `lock` until the transaction ends."""
    rows = Article._base_manager.filter(pk=article_id)
    if lock:
        rows = rows.select_for_update()
    return rows.values_list("version", flat=True).first()


@dataclass
class FieldConflict:
    name: str
    label: str
    theirs: str
    mine: str


@dataclass
class Conflict:
    """What the conflict page shows: the stored story against the editor's form."""

    article: Article
    version: int
    rows: str
    fields: list[FieldConflict] = field(default_factory=list)
    rows_changed: bool = False


def model_fields(form):
    """The form's fields that are fields of the article, in the form's order."""
    names = {f.name for f in Article._meta.get_fields()}
    return [name for name in form.fields if name in names]


def comparable(model_field, value):
    """A value as it can be compared between the form and the database."""
    if isinstance(model_field, TaggableManager):
        return sorted(str(tag) for tag in value or [])
    if model_field.many_to_many:
        return sorted(item.pk for item in value or [])
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, str):
        # Browsers post CRLF; stored text has LF (Article.prepare_to_save).
        return value.replace("\r\n", "\n")
    if hasattr(value, "microsecond"):
        # The admin's date and time inputs stop at seconds.
        return value.replace(microsecond=0)
    return value


def shown(model_field, value):
    """A value as the conflict page shows it."""
    if model_field.many_to_many:
        return ", ".join(sorted((str(item) for item in value or []), key=str.lower))
    if hasattr(value, "tzinfo"):
        # To the second: two saves a minute apart must not look the same.
        return date_format(timezone.localtime(value), "j F Y, H:i:s")
    return display_value(model_field, value).replace("\r\n", "\n")


def stored_value(model_field, article):
    if model_field.many_to_many:
        return list(getattr(article, model_field.name).all())
    return getattr(article, model_field.name)


def current_article(article_id):
    """The article as stored, with everything the conflict page shows."""
    return (
        Article.objects.select_related("lead_image")
        .prefetch_related(
            "tags",
            "people",
            "bylines__author",
            "related_links__target",
            "corrections",
        )
        .get(pk=article_id)
    )


def row_text(row):
    if isinstance(row, RelatedLink):
        where = row.url or (row.target.headline if row.target_id else "")
        return link_line(row.title, where, row.summary)
    if isinstance(row, Correction):
        return f"{row}: {' '.join(row.text.split())}"
    if isinstance(row, Byline):
        return f"By {row.author}"
    return str(row)


class UnlabelledHiddenInput(forms.HiddenInput):
    """A hidden input no label points at (the admin writes a label for every
    field in a fieldset; one for a hidden input is invalid HTML)."""

    def id_for_label(self, id_):
        return None


class VersionCheckedForm(forms.ModelForm):
    """A change form that refuses to overwrite a story saved since it was opened."""

    opened_version = forms.IntegerField(widget=UnlabelledHiddenInput, required=False)
    opened_rows = forms.CharField(widget=UnlabelledHiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflict = None
        if self.instance.pk is not None and not self.is_bound:
            # Read, not taken from the instance: a form showing an old revision
            # to restore must carry the version stored now.
            self.initial["opened_version"] = stored_version(self.instance.pk)
            self.initial["opened_rows"] = rows_digest(self.instance.pk)

    @cached_property
    def changed_data(self):
        # What the form was opened at is no change of the editor's (the admin's
        # history message lists changed_data).
        opened = ("opened_version", "opened_rows")
        return [name for name in super().changed_data if name not in opened]

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is not None:
            self._check_version(cleaned_data)
        return cleaned_data

    def _check_version(self, cleaned_data):
        article_id = self.instance.pk
        version = stored_version(article_id, lock=True)
        if version is None:
            raise ValidationError(
                "This story was deleted after you opened it.", code="deleted"
            )
        rows = rows_digest(article_id)
        opened = cleaned_data.get("opened_version"), cleaned_data.get("opened_rows")
        if opened == (version, rows):
            self._apply_choices(cleaned_data, article_id)
        else:
            conflict = Conflict(
                current_article(article_id),
                version,
                rows,
                rows_changed=opened[1] != rows,
            )
            conflict.fields = self._differences(cleaned_data, conflict.article)
            # A field with an error cannot be compared: say so beside the error.
            if conflict.fields or conflict.rows_changed or self._errors:
                self.conflict = conflict
                raise ValidationError(CONFLICT_MESSAGE, code="edit_conflict")

    def _differences(self, cleaned_data, current):
        differences = []
        for name in model_fields(self):
            if name not in cleaned_data:
                continue  # Invalid: the form shows the error first.
            model_field = Article._meta.get_field(name)
            theirs, mine = stored_value(model_field, current), cleaned_data[name]
            if comparable(model_field, theirs) != comparable(model_field, mine):
                differences.append(
                    FieldConflict(
                        name,
                        field_label(model_field),
                        shown(model_field, theirs),
                        shown(model_field, mine),
                    )
                )
        return differences

    def _apply_choices(self, cleaned_data, article_id):
        """The conflict page's choices: "theirs" takes the stored value."""
        shown_names = self.data.get(FIELDS_SHOWN, "").split()
        missing = [
            name
            for name in shown_names
            if self.data.get(CHOICE_PREFIX + name) not in (THEIRS, MINE)
        ]
        if missing:
            labels = ", ".join(
                field_label(Article._meta.get_field(name))
                for name in missing
                if name in model_fields(self)
            )
            raise ValidationError(
                f"Choose which to keep for: {labels}.", code="choice_missing"
            )
        names = [
            name
            for name in model_fields(self)
            if self.data.get(CHOICE_PREFIX + name) == THEIRS
        ]
        if not names:
            return
        current = current_article(article_id)
        for name in names:
            cleaned_data[name] = stored_value(Article._meta.get_field(name), current)
            # What the editor posted for it no longer matters.
            self._errors.pop(name, None)


def keeps_stored_rows(request):
    """Whether the conflict page's choice is to leave the inline rows as stored."""
    return request.method == "POST" and request.POST.get(ROWS_CHOICE) == STORED_ROWS


def posted_rows(inline_admin_formsets):
    """The inline rows as the editor's form would have left them."""
    rows = []
    for inline in inline_admin_formsets:
        formset = inline.formset
        for form in formset.forms:
            cleaned = getattr(form, "cleaned_data", {})
            if cleaned.get("DELETE") or not (form.instance.pk or form.has_changed()):
                continue
            rows.append(row_text(form.instance))
    return rows


def stored_rows(article):
    return [
        row_text(row)
        for relation in INLINE_ROWS
        for row in getattr(article, relation).all()
    ]


def last_saved(article):
    """Who or what saved the story last, as its newest revision says."""
    version = (
        Version.objects.get_for_object(article)
        .select_related("revision__user")
        .order_by("-revision__date_created", "-pk")
        .first()
    )
    if version is None:
        return None
    revision = version.revision
    who = revision.user.get_username() if revision.user else revision.get_comment()
    when = date_format(timezone.localtime(revision.date_created), "j F Y, H:i:s")
    return f"{who or 'someone'} on {when}"


# The conflict page -------------------------------------------------------------


class EditConflictAdmin:
    """ModelAdmin mixin: shows the conflict page instead of the change form when
    the form found the story changed, and applies its choice of inline rows."""

    conflict_template = "admin/articles/article/edit_conflict.html"

    def get_formsets_with_inlines(self, request, obj=None):
        if keeps_stored_rows(request):
            return  # The stored rows stay as they are: no formset, nothing saved.
        yield from super().get_formsets_with_inlines(request, obj)

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        form = context["adminform"].form
        conflict = getattr(form, "conflict", None)
        other_errors = [name for name in form.errors if name != "__all__"]
        formsets_valid = all(
            inline.formset.is_valid() for inline in context["inline_admin_formsets"]
        )
        if conflict is None or other_errors or not formsets_valid:
            return super().render_change_form(
                request, context, add, change, form_url, obj
            )
        return self.conflict_response(request, context, conflict)

    def conflict_response(self, request, context, conflict):
        article = conflict.article
        fields = []
        for item in conflict.fields:
            # The body is compared by its text, as the revision diff does.
            compare = body_difference if item.name == "body" else marked_difference
            theirs, mine = compare(item.theirs, item.mine)
            fields.append(
                {
                    "name": item.name,
                    "label": item.label,
                    "theirs": theirs,
                    "mine": mine,
                    "choice_name": CHOICE_PREFIX + item.name,
                }
            )
        rows = None
        if conflict.rows_changed:
            theirs, mine = marked_difference(
                "\n".join(stored_rows(article)),
                "\n".join(posted_rows(context["inline_admin_formsets"])),
            )
            rows = {"theirs": theirs, "mine": mine}
        skipped = {
            "csrfmiddlewaretoken",
            "opened_version",
            "opened_rows",
            ROWS_CHOICE,
            FIELDS_SHOWN,
        }
        carried = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in skipped and not name.startswith(CHOICE_PREFIX)
            for value in values
        ]
        context = {
            **context,
            "title": "Someone else saved this story while you were editing it",
            "subtitle": str(article),
            "conflict": conflict,
            "fields": fields,
            "rows": rows,
            "carried": carried,
            "last_saved": last_saved(article),
            "theirs": THEIRS,
            "mine": MINE,
            "rows_choice": ROWS_CHOICE,
            "fields_shown_name": FIELDS_SHOWN,
            "fields_shown": " ".join(item.name for item in conflict.fields),
            "stored_rows": STORED_ROWS,
            "opts": self.model._meta,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.conflict_template, context, status=409)
