from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from reversion.admin import VersionAdmin
from taggit.models import Tag

from articles import bulk, history, renditions, wire
from articles.bylines import authors_of, bylines_prefetch
from articles.bylines_admin import AuthorFilter, BylineInline
from articles.models import Article, Correction, Image, Person, RelatedLink, Topic

# Our topics replace taggit's plain tags; hide the unused model from editors.
admin.site.unregister(Tag)


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "article"
    extra = 0
    fields = ["position", "title", "summary", "url", "target"]
    autocomplete_fields = ["target"]
    ordering = ["position", "id"]


class CorrectionInline(admin.StackedInline):
    model = Correction
    extra = 0
    fields = ["kind", "published_at", "text"]


class PublicationFilter(admin.SimpleListFilter):
    title = "publication"
    parameter_name = "publication"

    def lookups(self, request, model_admin):
        return [
            ("draft", "Draft"),
            ("scheduled", "Scheduled"),
            ("published", "Published"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "draft":
            return queryset.filter(status=Article.Status.DRAFT)
        if self.value() == "scheduled":
            return queryset.scheduled()
        if self.value() == "published":
            return queryset.published()
        return queryset


class OriginFilter(admin.SimpleListFilter):
    title = "origin"
    parameter_name = "origin"

    def lookups(self, request, model_admin):
        return [("imported", "Imported"), ("written", "Written here")]

    def queryset(self, request, queryset):
        if self.value() == "imported":
            return queryset.exclude(source="")
        if self.value() == "written":
            return queryset.filter(source="")
        return queryset


class WireFilter(admin.SimpleListFilter):
    title = "wire"
    parameter_name = "wire"

    def lookups(self, request, model_admin):
        return [("waiting", "Update waiting"), ("duplicate", "Possible duplicate")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(wire.WAITING)
        if self.value() == "duplicate":
            return queryset.filter(wire.POSSIBLE_DUPLICATE)
        return queryset


class ArticleAdminForm(forms.ModelForm):
    minor_edit = forms.BooleanField(
        required=False,
        label="Minor edit",
        help_text='A typo or similar: the page\'s "Updated" notice and the feeds '
        "stay as they were.",
    )


@admin.register(Article)
class ArticleAdmin(VersionAdmin):
    form = ArticleAdminForm
    object_history_template = "admin/articles/article/object_history.html"
    list_display = [
        "headline",
        "published",
        "state",
        "author_list",
        "published_at",
        "topic_list",
        "people_list",
    ]
    list_filter = [
        PublicationFilter,
        AuthorFilter,
        OriginFilter,
        WireFilter,
        "tags",
        "published_at",
    ]
    date_hierarchy = "published_at"
    search_fields = ["headline", "standfirst", "body"]
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["people", "lead_image"]
    inlines = [BylineInline, RelatedLinkInline, CorrectionInline]
    actions = bulk.ARTICLE_ACTIONS
    readonly_fields = ["source", "created_at", "updated_at", "content_updated_at"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "body", "minor_edit"]}),
        ("Photo", {"fields": ["lead_image", "image_caption", "image_credit"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        ("Topics and people", {"fields": ["tags", "people"]}),
        (
            "Record",
            {"fields": ["source", "created_at", "updated_at", "content_updated_at"]},
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("tags", "people", bylines_prefetch())
        )

    @admin.display(boolean=True, description="Published", ordering="status")
    def published(self, article):
        return article.is_published

    @admin.display(description="Topics")
    def topic_list(self, article):
        return ", ".join(topic.name for topic in article.tags.all())

    @admin.display(description="People")
    def people_list(self, article):
        return ", ".join(person.name for person in article.people.all())

    @admin.display(description="Byline")
    def author_list(self, article):
        return ", ".join(author.name for author in authors_of(article))

    @admin.display(description="State")
    def state(self, article):
        if article.status == Article.Status.DRAFT:
            return "Draft"
        return "Published" if article.is_published else "Scheduled"

    def save_model(self, request, obj, form, change):
        obj.minor_edit = form.cleaned_data.get("minor_edit", False)
        super().save_model(request, obj, form, change)

    # Revisions: the history lists them with what changed; each links to its
    # field-by-field changes and to reversion's restore form (saving it records
    # the restore as a new revision).

    def get_urls(self):
        return [
            path(
                "<path:object_id>/wire-update/",
                self.admin_site.admin_view(self.wire_update_view),
                name="articles_article_wire_update",
            ),
            path(
                "<path:object_id>/history/<int:version_id>/changes/",
                self.admin_site.admin_view(self.revision_changes_view),
                name="articles_article_revision_changes",
            ),
            *super().get_urls(),
        ]

    def history_view(self, request, object_id, extra_context=None):
        article = self.get_object(request, object_id)
        if article is None or not self.has_view_or_change_permission(request, article):
            return super().history_view(request, object_id, extra_context)
        entries = list(reversed(history.article_history(article)))
        for entry in entries:
            entry.changes_url = self._revision_url(article, entry, "_changes")
            entry.restore_url = self._revision_url(article, entry, "")
        context = {"revision_entries": entries, **(extra_context or {})}
        return super().history_view(request, object_id, context)

    def revision_changes_view(self, request, object_id, version_id):
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        found = history.revision_changes(article, version_id)
        if found is None:
            raise Http404("No such revision of this article.")
        entry, changes = found
        when = date_format(
            timezone.localtime(entry.revision.date_created), "DATETIME_FORMAT"
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Changes made on {when}",
            "opts": self.model._meta,
            "original": article,
            "entry": entry,
            "changes": changes,
            "restore_url": self._revision_url(article, entry, ""),
            "history_url": reverse("admin:articles_article_history", args=[article.pk]),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/articles/article/revision_changes.html", context
        )

    def _revision_url(self, article, entry, suffix):
        return reverse(
            f"admin:articles_article_revision{suffix}",
            args=[article.pk, entry.version.pk],
        )

    # Imported stories: deletions are remembered, wire updates wait for editors
    # (articles/wire.py).

    class Media:
        css = {"all": ["css/admin-wire.css"]}

    def delete_model(self, request, obj):
        with wire.deletions_by(request.user):
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with wire.deletions_by(request.user):
            super().delete_queryset(request, queryset)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self._waiting_update(obj):
            return fieldsets
        return [("Wire update waiting", {"fields": ["wire_update"]}), *fieldsets]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "wire_update"]

    @staticmethod
    def _waiting_update(article):
        source = getattr(article, "imported_source", None)
        return source if source is not None and source.pending else None

    @admin.display(description="From the wire")
    def wire_update(self, article):
        source = self._waiting_update(article)
        if source is None:
            return "Nothing waits."
        url = reverse("admin:articles_article_wire_update", args=[article.pk])
        when = date_format(timezone.localtime(source.pending_since), "DATETIME_FORMAT")
        # Buttons of the change form that post it to the wire update view
        # (formaction), with its CSRF token; forms cannot nest.
        button = (
            '<button type="submit" class="button" formaction="{}" name="{}" '
            'value="{}">{}</button>'
        )
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{} {}</td></tr>',
            (
                (
                    field.label,
                    field.current,
                    field.incoming,
                    format_html(button, url, "wire_apply", field.name, "Apply"),
                    format_html(button, url, "wire_dismiss", field.name, "Dismiss"),
                )
                for field in wire.pending_fields(article, source)
            ),
        )
        return format_html(
            "<p>{} was imported again on {} with changes to fields edited here. "
            "The story keeps its own words until you apply the wire's; "
            "dismissing keeps them for good. Unsaved changes in this form are "
            "not kept.</p>"
            '<table id="wire-update"><thead><tr><th scope="col">Field</th>'
            '<th scope="col">Now</th><th scope="col">From the wire</th>'
            '<th scope="col"></th></tr></thead><tbody>{}</tbody></table>'
            "<p>{} {}</p>",
            source.name,
            when,
            rows,
            format_html(button, url, "wire_apply", "all", "Apply all"),
            format_html(button, url, "wire_dismiss", "all", "Dismiss all"),
        )

    def wire_update_view(self, request, object_id):
        """Apply or dismiss the waiting wire update, one field or all."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("No such article.")
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        apply = "wire_apply" in request.POST
        choice = request.POST.get("wire_apply" if apply else "wire_dismiss", "")
        names = wire.IMPORTED_FIELDS if choice == "all" else [choice]
        with transaction.atomic(), history.revision_context(user=request.user):
            settled = wire.settle_pending(article, names, apply=apply)
            if settled and apply:
                history.set_revision_comment(
                    f"Applied the wire update: {', '.join(settled)}"
                )
        if settled:
            done = "Applied" if apply else "Dismissed"
            self.message_user(request, f"{done} the wire update: {', '.join(settled)}.")
        else:
            self.message_user(
                request, "That wire update was no longer waiting.", messages.WARNING
            )
        return HttpResponseRedirect(
            reverse("admin:articles_article_change", args=[article.pk])
        )


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "article_count"]
    search_fields = ["name", "aliases", "description"]
    prepopulated_fields = {"slug": ["name"]}
    # Meta.ordering is dropped from the annotated (GROUP BY) query below, which
    # left the people autocomplete paginating an unordered list.
    ordering = ["name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_total=Count("articles", distinct=True))
        )

    @admin.display(description="Articles", ordering="article_total")
    def article_count(self, person):
        return person.article_total


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "article_count"]
    search_fields = ["name", "keywords", "description"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "keywords"]
    actions = [bulk.merge_selected_topics]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_total=Count("tagged_articles", distinct=True))
        )

    @admin.display(description="Articles", ordering="article_total")
    def article_count(self, topic):
        return topic.article_total


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["thumbnail", "__str__", "credit", "size", "uploaded_at", "used_by"]
    list_display_links = ["thumbnail", "__str__"]
    search_fields = ["caption", "credit", "alt_text"]
    date_hierarchy = "uploaded_at"
    fields = [
        "file",
        "preview",
        "alt_text",
        "caption",
        "credit",
        ("focal_x", "focal_y"),
        "size",
        "uploaded_by",
        "uploaded_at",
    ]
    readonly_fields = ["preview", "size", "uploaded_by", "uploaded_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("uploaded_by")
            .annotate(article_total=Count("lead_articles"))
            # Meta.ordering does not apply to a query with GROUP BY.
            .order_by("-uploaded_at", "-id")
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="Photo")
    def thumbnail(self, image):
        # The smallest rendition, never the multi-megabyte original.
        rendition = renditions.renditions(image, "card", "webp")[0]
        return format_html(
            '<img src="{}" width="160" height="90" alt="" loading="lazy">',
            rendition.url,
        )

    @admin.display(description="Size")
    def size(self, image):
        return f"{image.width}×{image.height}" if image.width else ""

    @admin.display(description="Lead image of", ordering="article_total")
    def used_by(self, image):
        return f"{image.article_total} article(s)"

    @admin.display(description="Preview")
    def preview(self, image):
        if not image.pk:
            return "Shown once the photo is saved."
        crops = [
            ("As taken", renditions.renditions(image, "full", "webp")),
            ("List card 16:9", renditions.renditions(image, "card", "webp")),
            ("Social 1200×630", renditions.renditions(image, "social", "jpeg")),
        ]
        return format_html_join(
            "",
            '<figure style="display:inline-block;margin:0 1em 1em 0">'
            '<img src="{}" width="{}" height="{}" alt="" style="max-width:100%;'
            'height:auto"><figcaption>{}</figcaption></figure>',
            (
                (
                    rendition.url,
                    320,
                    round(320 * rendition.height / rendition.width),
                    label,
                )
                for label, sizes in crops
                for rendition in sizes[:1]
            ),
        )


# The front-page screen registers itself (its own module: it is a screen, not a
# change list).
from articles import frontpage_admin  # noqa: E402, F401
