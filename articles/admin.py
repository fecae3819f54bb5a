from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import (
    AutocompleteSelectMultiple,
    RelatedFieldWidgetWrapper,
)
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
from reversion.models import Version
from taggit.models import Tag

from articles import (
    admin_preview,
    admin_search,
    bulk,
    conflicts,
    history,
    image_picker,
    renditions,
    wire,
)
from articles.admin_names import NamedColumnsMixin, NamedInputsMixin
from articles.body_editor import BodyEditorWidget
from articles.bylines import authors_of, bylines_prefetch
from articles.bylines_admin import AuthorFilter, BylineInline
from articles.models import Article, Correction, Image, Person, RelatedLink, Topic

# Our topics replace taggit's plain tags; hide the unused model from editors.
admin.site.unregister(Tag)


class RelatedLinkInline(NamedColumnsMixin, admin.TabularInline):
    model = RelatedLink
    fk_name = "article"
    extra = 0
    fields = ["position", "title", "summary", "url", "target"]
    autocomplete_fields = ["target"]
    ordering = ["position", "id"]


class CorrectionInline(NamedInputsMixin, admin.StackedInline):
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


class ArticleAdminForm(conflicts.VersionCheckedForm):
    class Meta:
        widgets = {"body": BodyEditorWidget}

    minor_edit = forms.BooleanField(
        required=False,
        label="Minor edit",
        help_text='A typo or similar: the page\'s "Updated" notice and the feeds '
        "stay as they were.",
    )


class TopicChoiceField(forms.ModelMultipleChoiceField):
    """Topics picked from the stored ones: a typo can never become a topic."""

    default_error_messages = {
        "invalid_choice": "“%(value)s” is not a stored topic: choose topics from "
        "the list (add a new one under Topics first).",
        "invalid_pk_value": "“%(pk)s” is not a stored topic: choose topics from "
        "the list (add a new one under Topics first).",
    }

    def clean(self, value):
        # A form that posts the field empty means "no topics", as a browser's
        # select with nothing chosen does.
        return super().clean([pk for pk in value or [] if pk != ""])


class TopicAutocomplete(AutocompleteSelectMultiple):
    def optgroups(self, name, value, attr=None):
        # A refused, typed name is shown as the error, not looked up as an id.
        return super().optgroups(name, [v for v in value if str(v).isdigit()], attr)


def topic_choice_field(db_field, admin_site, request):
    """The article form's topics: an autocomplete over TopicAdmin's search, with
    the "+" popup for those who may add topics."""
    topic_admin = admin_site.get_model_admin(Topic)
    widget = TopicAutocomplete(db_field, admin_site)
    return TopicChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        label="Topics",
        help_text="Type to find a stored topic.",
        widget=RelatedFieldWidgetWrapper(
            widget,
            db_field.remote_field,
            admin_site,
            can_add_related=topic_admin.has_add_permission(request),
            can_change_related=False,
            can_view_related=False,
        ),
    )


@admin.register(Article)
class ArticleAdmin(NamedInputsMixin, conflicts.EditConflictAdmin, VersionAdmin):
    form = ArticleAdminForm
    object_history_template = "admin/articles/article/object_history.html"
    change_list_template = "admin/articles/article/change_list.html"
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
    actions = [*bulk.ARTICLE_ACTIONS, "dismiss_duplicate_flags"]
    readonly_fields = [
        "source",
        "imported_by",
        "created_at",
        "updated_at",
        "content_updated_at",
    ]

    @admin.action(
        description="Not duplicates: stop listing selected articles as possible "
        "duplicates",
        permissions=["change"],
    )
    def dismiss_duplicate_flags(self, request, queryset):
        dismissed = wire.dismiss_duplicate_flags(
            Article.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
        )
        self.message_user(
            request, f"Dismissed {dismissed} duplicate flag(s).", messages.SUCCESS
        )

    fieldsets = [
        (
            None,
            {
                "fields": [
                    "headline",
                    "slug",
                    "standfirst",
                    "body",
                    "minor_edit",
                    # Hidden: what the form was opened at (articles/conflicts.py).
                    ("opened_version", "opened_rows"),
                ]
            },
        ),
        ("Photo", {"fields": ["lead_image", "image_caption", "image_credit"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        ("Topics and people", {"fields": ["tags", "people"]}),
        (
            "Record",
            {
                "fields": [
                    "source",
                    "imported_by",
                    "created_at",
                    "updated_at",
                    "content_updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("tags", "people", bylines_prefetch())
        )

    # Search: the site's full-text index over headline, standfirst and body,
    # ranked (articles/admin_search.py); search_fields only shows the box.
    def get_search_results(self, request, queryset, search_term):
        return admin_search.search_results(queryset, search_term)

    def get_changelist(self, request, **kwargs):
        return admin_search.RankedChangeList

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "tags":
            return topic_choice_field(db_field, self.admin_site, request)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "lead_image":
            # The autocomplete with a thumbnail and the photo picker.
            kwargs["widget"] = image_picker.LeadImageWidget(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
    # field-by-field changes and to a restore form (saving it records the
    # restore as a new revision). reversion's own revision view is not used: it
    # reverts the whole revision, other articles and deletions included, and
    # mutes model signals for every thread while it shows the form.

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
            *admin_preview.preview_urls(self),
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

    def revision_view(self, request, object_id, version_id, extra_context=None):
        """The article's change form filled in as the revision recorded it; saving
        it restores that article alone (articles/history.py, revision_state)."""
        article = self.get_object(request, unquote(object_id))
        if article is None:
            raise Http404("No such article.")
        if not self.has_change_permission(request, article):
            raise PermissionDenied
        version = (
            Version.objects.get_for_object(article)
            .select_related("revision")
            .filter(pk=version_id)
            .first()
        )
        if version is None:
            raise Http404("No such revision of this article.")
        return self._revision_form_view(request, article, version, recovering=False)

    # Recovering deleted articles brings back what a user with the right to
    # delete took away: only such users may. The form is the restore form.

    def recoverlist_view(self, request, extra_context=None):
        if not self.has_delete_permission(request):
            raise PermissionDenied
        return super().recoverlist_view(request, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        if not (
            self.has_delete_permission(request) and self.has_add_permission(request)
        ):
            raise PermissionDenied
        version = (
            Version.objects.get_deleted(self.model)
            .select_related("revision")
            .filter(pk=version_id)
            .first()
        )
        if version is None:
            raise Http404("No such deleted article.")
        article = self.model(pk=self.model._meta.pk.to_python(version.object_id))
        return self._revision_form_view(request, article, version, recovering=True)

    def _revision_form_view(self, request, article, version, *, recovering):
        fieldsets = self.get_fieldsets(request, article)
        ModelForm = self.get_form(
            request, article, change=True, fields=flatten_fieldsets(fieldsets)
        )
        if request.method == "POST":
            with transaction.atomic(), self.create_revision(request):
                if not recovering:
                    article = (
                        self.get_queryset(request)
                        .select_for_update()
                        .get(pk=article.pk)
                    )
                state = history.revision_state(article, version)
                form = ModelForm(
                    request.POST,
                    request.FILES,
                    instance=self._form_instance(article, state, recovering),
                )
                if form.is_valid():
                    return self._restore(request, form, state, article.pk)
        else:
            state = history.revision_state(article, version)
            form = ModelForm(
                instance=self._form_instance(article, state, recovering),
                initial={"tags": state.topics, "people": state.person_ids},
            )
        return self._restore_form(request, article, form, fieldsets, state, recovering)

    def _form_instance(self, article, state, recovering):
        """What the form edits: the article (unsaved) with the revision's own
        field values. A deleted one is a new article, with the file it was
        imported from, until it is saved under its old key."""
        if recovering:
            article = self.model(source=state.version.field_dict.get("source", ""))
        for attname, value in state.fields.items():
            setattr(article, attname, value)
        return article

    def _restore(self, request, form, state, article_pk):
        """Save the validated restore form and the revision's related links."""
        recovering = form.instance.pk is None
        done = "Recovered" if recovering else "Restored"
        when = self._revision_date(state)
        article = self.save_form(request, form, change=not recovering)
        article.pk = article_pk
        self.save_model(request, article, form, change=not recovering)
        form.save_m2m()
        history.restore_links(article, state.links)
        note = f"{done} from the revision of {when}"
        if recovering:
            wire.relink_recovered(article)
            self.log_addition(request, article, note)
        else:
            self.log_change(request, article, note)
        # The snapshot of the article as it ends, and the comment, last.
        history.add_to_current_revision(article)
        history.set_revision_comment(note)
        message = f"“{article}” was {done.lower()} from the revision of {when}."
        if state.left_out:
            message += " Left out, as they no longer exist: " + ", ".join(
                state.left_out
            )
            message += "."
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:articles_article_change", args=[article.pk])
        )

    def _restore_form(self, request, article, form, fieldsets, state, recovering):
        admin_form = helpers.AdminForm(
            form,
            list(fieldsets),
            self.get_prepopulated_fields(request, article),
            self.get_readonly_fields(request, article),
            model_admin=self,
        )
        done = "Recover" if recovering else "Restore"
        context = {
            **self.admin_site.each_context(request),
            "title": f"{done} the revision of {self._revision_date(state)}",
            "subtitle": state.version.object_repr if recovering else str(article),
            "adminform": admin_form,
            "object_id": article.pk,
            "original": None if recovering else article,
            "recovering": recovering,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            "show_delete": False,
            "restored_links": state.link_lines,
            "left_out": state.left_out,
        }
        response = self.render_change_form(
            request,
            context,
            change=True,
            obj=None if recovering else article,
            form_url=request.path,
        )
        if getattr(form, "conflict", None) is None:
            # Not the edit-conflict page (articles/conflicts.py): the restore form.
            response.template_name = "admin/articles/article/revision_form.html"
        return response

    def _revision_date(self, state):
        return date_format(timezone.localtime(state.date_created), "DATETIME_FORMAT")

    def changelist_view(self, request, extra_context=None):
        # Not reversion's changelist_view, which wraps the page in one revision:
        # bulk actions record a revision for each article they change.
        context = {
            "has_recover_permission": self.has_delete_permission(request),
            **(extra_context or {}),
        }
        return admin.ModelAdmin.changelist_view(self, request, context)

    def _revision_url(self, article, entry, suffix):
        return reverse(
            f"admin:articles_article_revision{suffix}",
            args=[article.pk, entry.version.pk],
        )

    # Imported stories: deletions are remembered, wire updates wait for editors
    # (articles/wire.py).

    class Media:
        # The form's names for Select2's boxes and the inlines' first column,
        # underlined breadcrumbs: files, not inline code (the CSP forbids it).
        css = {"all": ["css/admin-wire.css", "css/admin-article-form.css"]}
        js = ["js/admin-article-form.js"]

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

    @admin.display(description="Imported by")
    def imported_by(self, article):
        from articles.ingest_admin import imported_by

        return imported_by(article)

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
    # As for people: the annotated query below drops Meta.ordering, and the
    # article form's topic autocomplete pages through this list.
    ordering = ["name"]

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

    class Media:
        # The focal point is set by clicking the photo; no inline style or
        # script (the Content-Security-Policy forbids them).
        css = {"all": ["css/admin-photos.css"]}
        js = ["js/admin-photos.js"]

    def get_urls(self):
        return [*image_picker.image_urls(self), *super().get_urls()]

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

    def get_deleted_objects(self, objs, request):
        """Stories showing a photo inline protect it as a lead image does
        (their foreign key): the delete page lists them and deletes nothing."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        for image in objs:
            for article in Article.objects.using_inline_image(image.pk):
                url = reverse("admin:articles_article_change", args=[article.pk])
                protected.append(
                    format_html(
                        'Article: <a href="{}">{}</a> (photo in the story)',
                        url,
                        article,
                    )
                )
        return deleted, counts, perms_needed, protected

    @admin.display(description="Photo")
    def thumbnail(self, image):
        return format_html(
            '<img src="{}" width="160" height="90" alt="" loading="lazy">',
            image_picker.thumbnail_url(image),
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
        full = renditions.smallest(image, "full", "webp")
        # Clicking the photo as taken sets the focal point (admin-photos.js);
        # the two numbers below stay for keyboards and browsers without scripts.
        focal = format_html(
            '<figure class="photo-preview">'
            '<div class="focal-point-frame"><img src="{}" width="320" height="{}" '
            'alt="">'
            '<span class="focal-point-marker" hidden></span></div>'
            "<figcaption>As taken: click the photo to set its focal point, "
            "then save.</figcaption></figure>",
            full.url,
            round(320 * full.height / full.width),
        )
        crops = []
        for label, spec, format_key in [
            ("List card 16:9", "card", "webp"),
            ("Social 1200×630", "social", "jpeg"),
        ]:
            made = renditions.made(image, spec, format_key)
            if not made:
                crops.append(
                    format_html(
                        '<figure class="photo-preview"><figcaption>{}: being made '
                        "in the background; reload in a moment.</figcaption></figure>",
                        label,
                    )
                )
                continue
            crops.append(
                format_html(
                    '<figure class="photo-preview"><img src="{}" width="{}" '
                    'height="{}" alt=""><figcaption>{}</figcaption></figure>',
                    made[0].url,
                    320,
                    round(320 * made[0].height / made[0].width),
                    label,
                )
            )
        return focal + format_html_join("", "{}", ((crop,) for crop in crops))


# The front-page screen registers itself (its own module: it is a screen, not a
# change list).
from articles import frontpage_admin, ingest_admin  # noqa: E402, F401
