"""Admin for authors, the byline inline of the article form, and "My stories"."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count

from articles.admin_names import NamedColumnsMixin
from articles.bylines import Author, Byline


class BylineInline(NamedColumnsMixin, admin.TabularInline):
    """The article's authors in order: a number each, so no JavaScript is needed
    to reorder them."""

    model = Byline
    extra = 2
    fields = ["position", "author"]
    ordering = ["position", "id"]
    verbose_name = "author"
    verbose_name_plural = "byline"


class AuthorFilter(admin.SimpleListFilter):
    """Stories by one author, or by the signed-in editor's own author ("Mine")."""

    title = "author"
    parameter_name = "author"
    MINE = "mine"

    def lookups(self, request, model_admin):
        mine = [(self.MINE, "Mine")] if _own_author(request) else []
        return mine + [
            (str(pk), name) for pk, name in Author.objects.values_list("pk", "name")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.MINE:
            return queryset.filter(bylines__author__user=request.user)
        if value and value.isdigit():
            return queryset.filter(bylines__author=value)
        return queryset


def _own_author(request):
    return Author.objects.filter(user=request.user).exists()


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "job_title", "user", "article_count"]
    search_fields = ["name", "job_title"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["photo"]
    fields = [
        "name",
        "slug",
        "job_title",
        "bio",
        "photo",
        "website",
        "social_profiles",
        "user",
    ]
    # Meta.ordering is dropped from the annotated (GROUP BY) query below.
    ordering = ["name"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .annotate(article_total=Count("bylines"))
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            # Only staff accounts can be an author's; editors see no others.
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="Articles", ordering="article_total")
    def article_count(self, author):
        return author.article_total
