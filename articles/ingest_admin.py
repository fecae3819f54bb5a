"""Import runs in the admin: the record of every import (read-only), and uploads of
story files by editors allowed to import stories (articles/ingest/uploads.py):
the upload form, its dry run to confirm, then the run's page showing progress
while a worker imports it."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from articles.image_picker import MultipleFileInput
from articles.ingest import uploads
from articles.ingest.formats import MAX_FILE_BYTES, PHOTO_EXTENSIONS
from articles.ingest.runs import ImportRun, ImportRunFile, last_import_of

IMPORT_PERMISSION = "articles.import_stories"
# The run page reloads itself this often while a worker imports it.
REFRESH_SECONDS = 2


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record: viewed by staff with the view permission, changed by no one."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class FileOutcomeFilter(admin.SimpleListFilter):
    """Runs with at least one file of this outcome."""

    title = "file outcome"
    parameter_name = "outcome"

    def lookups(self, request, model_admin):
        return ImportRunFile.Outcome.choices

    def queryset(self, request, queryset):
        if self.value() not in ImportRunFile.Outcome.values:
            return queryset
        return queryset.filter(
            Exists(
                ImportRunFile.objects.filter(run=OuterRef("pk"), outcome=self.value())
            )
        )


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "started_by",
        "started_at",
        "state_shown",
        "done_of_total",
    ]
    list_filter = [FileOutcomeFilter, "state"]
    date_hierarchy = "started_at"
    search_fields = ["started_by", "files__name"]
    fields = [
        "started_by",
        "started_at",
        "finished_at",
        "state_shown",
        "options",
        "progress",
        "file_outcomes",
    ]
    readonly_fields = fields

    @admin.display(description="state", ordering="state")
    def state_shown(self, run):
        return run.state_shown

    @admin.display(description="files done")
    def done_of_total(self, run):
        failed = f", {run.failed} refused" if run.failed else ""
        return f"{run.done} of {run.total}{failed}"

    @admin.display(description="Progress")
    def progress(self, run):
        counts = ", ".join(
            f"{label} {run.counts[value]}"
            for value, label in ImportRunFile.Outcome.choices
            if run.counts.get(value)
        )
        return f"{run.done} of {run.total} files done" + (
            f": {counts}" if counts else ""
        )

    @admin.display(description="Files")
    def file_outcomes(self, run):
        return file_table(run.files.select_related("article"), dry_run=False)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        refresh = (
            run is not None
            and run.state in (ImportRun.State.QUEUED, ImportRun.State.RUNNING)
            and not run.stopped
        )
        extra_context = {
            "refresh_seconds": REFRESH_SECONDS if refresh else None,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_import": request.user.has_perm(IMPORT_PERMISSION),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="articles_importrun_upload"),
            path(
                "<int:run_id>/dry-run/",
                view(self.dry_run_view),
                name="articles_importrun_dry_run",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        """Take the files, keep them with a new run, show its dry run."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        posted = request.method == "POST"
        form = UploadForm(request.POST, request.FILES) if posted else UploadForm()
        if posted and form.is_valid():
            try:
                members = uploads.read_upload(form.cleaned_data["files"])
            except uploads.UploadRefused as refusal:
                form.add_error("files", str(refusal))
            else:
                run = uploads.start_upload(
                    members,
                    user=request.user,
                    options={"draft": form.cleaned_data["draft"]},
                )
                return redirect("admin:articles_importrun_dry_run", run.pk)
        return self._render(request, "upload.html", "Upload stories", {"form": form})

    def dry_run_view(self, request, run_id):
        """What the upload would do, file by file; posting confirms it."""
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        run = ImportRun.objects.filter(pk=run_id, user__isnull=False).first()
        if run is None:
            raise Http404("No such upload.")
        if run.state != ImportRun.State.DRY_RUN:
            return redirect(run)  # Confirmed already: its page shows progress.
        if request.method == "POST" and "discard" in request.POST:
            if uploads.discard(run):
                messages.success(request, "The upload was discarded unimported.")
            return redirect("admin:articles_importrun_changelist")
        if request.method == "POST":
            if uploads.confirm(run):
                messages.success(
                    request,
                    f"{run.total} story file(s) will be imported in the "
                    "background; this page shows how far it is.",
                )
            return redirect(run)
        return self._render(
            request,
            "dry_run.html",
            f"Dry run of upload {run.pk}",
            {
                "run": run,
                "file_outcomes": file_table(run.files.all(), dry_run=True),
            },
        )

    def _render(self, request, template, title, context):
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request,
            f"admin/articles/importrun/{template}",
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.opts,
                **context,
            },
        )


@admin.register(ImportRunFile)
class ImportRunFileAdmin(ReadOnlyAdmin):
    list_display = ["name", "outcome", "note", "run", "article"]
    list_filter = ["outcome"]
    list_select_related = ["run", "article"]
    search_fields = ["name", "note"]
    fields = ["run", "name", "outcome", "note", "article"]
    readonly_fields = fields


class StoryFilesField(forms.FileField):
    """Several files at once (uploads.read_upload checks them together)."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = [file for file in data or [] if file]
        if not files:
            raise forms.ValidationError("Choose the story files or a .zip to upload.")
        return files


class UploadForm(forms.Form):
    files = StoryFilesField(
        label="Story files",
        help_text="Story files (.txt, each at most "
        f"{MAX_FILE_BYTES // 1024 // 1024} MB) with their photos of the same "
        f"name ({', '.join(PHOTO_EXTENSIONS)}), or one .zip of them. Nothing is "
        "imported before you have seen the dry run and confirmed it.",
    )
    draft = forms.BooleanField(
        label="Create new stories as drafts",
        required=False,
        help_text="Stories already stored keep their status.",
    )


def file_table(files, *, dry_run):
    """A table of files and their outcomes (or, in a dry run, planned outcomes)."""
    files = list(files)
    if not files:
        return "No file done yet."
    rows = format_html_join(
        "",
        '<tr class="outcome-{}"><th scope="row">{}</th><td>{}</td><td>{}</td>'
        "<td>{}</td></tr>",
        (
            (
                row.outcome,
                row.name,
                row.planned if dry_run else row.get_outcome_display(),
                row.note,
                _story_link(row.article),
            )
            for row in files
        ),
    )
    return format_html(
        '<table class="import-files"><thead><tr><th scope="col">File</th>'
        '<th scope="col">Outcome</th><th scope="col">Reason or note</th>'
        '<th scope="col">Story</th></tr></thead><tbody>{}</tbody></table>',
        rows,
    )


def _story_link(article):
    if article is None:
        return ""
    url = reverse("admin:articles_article_change", args=[article.pk])
    return format_html('<a href="{}">{}</a>', url, article.headline)


def imported_by(article):
    """For a story's change page: the run that last made or changed it, and when."""
    row = last_import_of(article) if article.pk else None
    if row is None:
        return "No recorded import."
    when = date_format(timezone.localtime(row.run.started_at), "DATETIME_FORMAT")
    return format_html(
        '<a href="{}">{}</a> ({} {}), {}',
        row.run.get_absolute_url(),
        row.run,
        row.name,
        row.get_outcome_display(),
        when,
    )
