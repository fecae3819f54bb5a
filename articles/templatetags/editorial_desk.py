"""The editors' start page: what waits, what is due, what just went out or came in."""

from dataclasses import dataclass

from django import template
from django.db.models import QuerySet
from django.urls import reverse

from articles.bylines import Author
from articles.models import Article

register = template.Library()

LATEST = 5


@dataclass
class DeskSection:
    title: str
    filter_query: str
    articles: QuerySet
    # "updated", "published" or "imported": the time shown beside each story.
    show: str

    def __post_init__(self):
        # Two queries a section, however many articles there are.
        self.count = self.articles.count()
        self.latest = list(self.articles[:LATEST])
        self.changelist_url = (
            f"{reverse('admin:articles_article_changelist')}?{self.filter_query}"
        )


@register.inclusion_tag("admin/includes/editorial_desk.html", takes_context=True)
def editorial_desk(context):
    user = context["request"].user
    if not user.has_perm("articles.view_article"):
        return {"sections": []}
    articles = Article.objects.only(
        "headline", "status", "published_at", "updated_at", "created_at", "source"
    )
    return {
        "sections": [
            *my_stories(user, articles),
            DeskSection(
                "Drafts",
                "publication=draft",
                articles.filter(status=Article.Status.DRAFT).order_by("-updated_at"),
                "updated",
            ),
            DeskSection(
                "Scheduled",
                "publication=scheduled",
                articles.scheduled().order_by("published_at", "id"),
                "published",
            ),
            DeskSection(
                "Latest published",
                "publication=published",
                articles.published(),
                "published",
            ),
            DeskSection(
                "Latest imports",
                "origin=imported",
                articles.exclude(source="").order_by("-created_at", "-id"),
                "imported",
            ),
        ]
    }


def my_stories(user, articles):
    """The signed-in editor's own drafts, scheduled and published stories, when
    their account is an author's (articles/bylines.py); first on the page."""
    mine = articles.filter(bylines__author__user=user)
    if not Author.objects.filter(user=user).exists():
        return []
    return [
        DeskSection(
            "My drafts",
            "author=mine&publication=draft",
            mine.filter(status=Article.Status.DRAFT).order_by("-updated_at"),
            "updated",
        ),
        DeskSection(
            "My scheduled stories",
            "author=mine&publication=scheduled",
            mine.scheduled().order_by("published_at", "id"),
            "published",
        ),
        DeskSection(
            "My published stories",
            "author=mine&publication=published",
            mine.published(),
            "published",
        ),
    ]
