from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count
from taggit.models import Tag

from articles.models import Article, Person, RelatedLink, Topic

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
    autocomplete_fields = ["people"]
    inlines = [RelatedLinkInline]
    actions = ["publish", "unpublish"]
    readonly_fields = ["source", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "standfirst", "body"]}),
        ("Photo", {"fields": ["image_caption", "image_credit"]}),
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

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(article_total=Count("tagged_articles", distinct=True))
        )

    @admin.display(description="Articles", ordering="article_total")
    def article_count(self, topic):
        return topic.article_total
