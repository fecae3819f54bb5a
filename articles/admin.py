from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count
from django.utils.html import format_html, format_html_join
from taggit.models import Tag

from articles import renditions
from articles.models import Article, Image, Person, RelatedLink, Topic

# Our topics replace taggit's plain tags; hide the unused model from editors.
admin.site.unregister(Tag)


class RelatedLinkInline(admin.TabularInline):
    model = RelatedLink
    fk_name = "article"
    extra = 0
    fields = ["position", "title", "summary", "url", "target"]
    autocomplete_fields = ["target"]
    ordering = ["position", "id"]


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "headline",
        "published",
        "published_at",
        "topic_list",
        "people_list",
    ]
    list_filter = ["status", "tags", "published_at"]
    date_hierarchy = "published_at"
    search_fields = ["headline", "standfirst", "body"]
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["people", "lead_image"]
    inlines = [RelatedLinkInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ["source", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "body"]}),
        ("Photo", {"fields": ["lead_image", "image_caption", "image_credit"]}),
        ("Publishing", {"fields": ["status", "published_at"]}),
        ("Topics and people", {"fields": ["tags", "people"]}),
        ("Record", {"fields": ["source", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags", "people")

    @admin.display(boolean=True, description="Published", ordering="status")
    def published(self, article):
        return article.is_published

    @admin.display(description="Topics")
    def topic_list(self, article):
        return ", ".join(topic.name for topic in article.tags.all())

    @admin.display(description="People")
    def people_list(self, article):
        return ", ".join(person.name for person in article.people.all())

    @admin.action(description="Publish selected articles", permissions=["change"])
    def publish(self, request, queryset):
        without_alt = queryset.exclude(status=Article.Status.PUBLISHED).filter(
            lead_image__alt_text=""
        )
        if without_alt:
            self.message_user(
                request,
                "Not published, the lead image has no alt text: "
                + ", ".join(article.headline for article in without_alt),
                messages.ERROR,
            )
            queryset = queryset.exclude(pk__in=without_alt.values("pk"))
        # save() rather than update(): signals (cache, history) must see it, and a
        # scheduled story keeps its future publish time.
        with transaction.atomic():
            changed = self._set_status(queryset, Article.Status.PUBLISHED)
        self.message_user(request, f"Published {changed} article(s).", messages.SUCCESS)

    @admin.action(description="Unpublish selected articles", permissions=["change"])
    def unpublish(self, request, queryset):
        with transaction.atomic():
            changed = self._set_status(queryset, Article.Status.DRAFT)
        self.message_user(
            request, f"Moved {changed} article(s) back to draft.", messages.SUCCESS
        )

    @staticmethod
    def _set_status(queryset, status):
        changed = 0
        for article in queryset.exclude(status=status).select_for_update():
            article.status = status
            article.save()
            changed += 1
        return changed


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "article_count"]
    search_fields = ["name", "aliases", "description"]
    prepopulated_fields = {"slug": ["name"]}

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
