from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import Article
from tests.conftest import make_article

pytestmark = pytest.mark.django_db

INDEX = "admin:index"


def desk_sections(response):
    return {s.title: s for s in response.context["sections"]}


def test_start_page_shows_drafts_scheduled_published_and_imports(editor_client):
    make_article(headline="Unfinished", status=Article.Status.DRAFT, published_at=None)
    make_article(
        headline="For tomorrow", published_at=timezone.now() + timedelta(days=1)
    )
    make_article(headline="Out now")
    for number in range(7):
        make_article(headline=f"Imported {number}", source=f"story-{number}.txt")

    response = editor_client.get(reverse(INDEX))
    sections = desk_sections(response)
    html = response.content.decode()

    assert [s.count for s in sections.values()] == [1, 1, 8, 7]
    assert [a.headline for a in sections["Drafts"].latest] == ["Unfinished"]
    assert [a.headline for a in sections["Scheduled"].latest] == ["For tomorrow"]
    assert [a.headline for a in sections["Latest imports"].latest] == [
        f"Imported {number}" for number in [6, 5, 4, 3, 2]
    ]
    changelist = reverse("admin:articles_article_changelist")
    for query, title in [
        ("publication=draft", "Drafts (1)"),
        ("publication=scheduled", "Scheduled (1)"),
        ("publication=published", "Latest published (8)"),
        ("origin=imported", "Latest imports (7)"),
    ]:
        assert f'<a href="{changelist}?{query}" class="section">{title}</a>' in html
    assert "story-6.txt" in html
    assert "All 7…" in html


def test_every_start_page_link_opens_its_filtered_change_list(editor_client):
    make_article(status=Article.Status.DRAFT, published_at=None)
    make_article(source="story.txt")
    sections = desk_sections(editor_client.get(reverse(INDEX)))

    for section in sections.values():
        response = editor_client.get(section.changelist_url)
        assert response.status_code == 200
        assert response.context["cl"].result_count == section.count


def test_start_page_query_count_does_not_grow_with_articles(editor_client):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get(reverse(INDEX)).status_code == 200
        return len(queries)

    make_article(source="one.txt")
    few = count_queries()
    for number in range(30):
        make_article(source=f"file-{number}.txt")
        make_article(status=Article.Status.DRAFT, published_at=None)
    assert count_queries() == few


def test_staff_without_article_access_see_no_desk(client):
    staff = User.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    client.force_login(staff)
    make_article(
        headline="Secret draft", status=Article.Status.DRAFT, published_at=None
    )

    response = client.get(reverse(INDEX))

    assert response.status_code == 200
    assert "Secret draft" not in response.content.decode()
