"""The editors' start page: what waits, what is due, what just went out or came in."""

from dataclasses import dataclass

from django import template
from django.db.models import F, QuerySet
from django.urls import reverse

from articles import wire
from articles.bylines import Author
from articles.models import Article

register = template.Library()

LATEST = 5


@dataclass
class DeskSection:
    title: str
    filter_query: str
    articles: QuerySet
    # "updated", "published", "imported", "wire" or "duplicate": what is shown
    # beside each story.
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
        # For the forms that dismiss a duplicate flag (the change list's action).
        "csrf_token": context.get("csrf_token"),
        "can_change": user.has_perm("articles.change_article"),
        "sections": [
            *my_stories(user, articles),
            *by_publication(articles, ["Drafts", "Scheduled", "Latest published"]),
            DeskSection(
                "Latest imports",
                "origin=imported",
                articles.exclude(source="").order_by("-created_at", "-id"),
                "imported",
            ),
            *_wire_sections(articles),
        ],
    }


def my_stories(user, articles):
    """The signed-in editor's own drafts, scheduled and published stories, when
    their account is an author's (articles/bylines.py); first on the page."""
    mine = articles.filter(bylines__author__user=user)
    if not Author.objects.filter(user=user).exists():
        return []
    titles = ["My drafts", "My scheduled stories", "My published stories"]
    return by_publication(mine, titles, "author=mine&")


# Each publication state: its change-list filter value, its stories in the
# order the desk lists them, and the time shown beside each.
PUBLICATION_STATES = [
    (
        "draft",
        lambda articles: articles.filter(status=Article.Status.DRAFT).order_by(
            "-updated_at"
        ),
        "updated",
    ),
    (
        "scheduled",
        lambda articles: articles.scheduled().order_by("published_at", "id"),
        "published",
    ),
    ("published", lambda articles: articles.published(), "published"),
]


def by_publication(articles, titles, filter_prefix=""):
    """One section per publication state (draft, scheduled, published)."""
    return [
        DeskSection(
            title, f"{filter_prefix}publication={state}", select(articles), shown
        )
        for title, (state, select, shown) in zip(
            titles, PUBLICATION_STATES, strict=True
        )
    ]


def _wire_sections(articles):
    """Imported stories that need an editor: warnings, shown only when any do."""
    sections = [
        DeskSection(
            "Wire updates waiting",
            "wire=waiting",
            articles.filter(wire.WAITING)
            .annotate(wire_since=F("imported_source__pending_since"))
            .order_by("-wire_since", "-id"),
            "wire",
        ),
        DeskSection(
            "Possible duplicates",
            "wire=duplicate",
            articles.filter(wire.POSSIBLE_DUPLICATE)
            .annotate(
                duplicate_id=F("imported_source__duplicate_of"),
                duplicate_headline=F("imported_source__duplicate_of__headline"),
                duplicate_similarity=F("imported_source__duplicate_similarity"),
            )
            .order_by("-created_at", "-id"),
            "duplicate",
        ),
    ]
    return [section for section in sections if section.count]
