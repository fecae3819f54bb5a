import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from reversion.models import Revision, Version

from articles.history import (
    article_history,
    marked_difference,
    revision_context,
)
from articles.models import Article, Topic
from tests.conftest import make_article, make_person, make_related_link
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def history_url(article):
    return reverse("admin:articles_article_history", args=[article.pk])


def edit_in_admin(client, article, **changes):
    """Open the article's change form, change some fields, save it."""
    data = form_data(client.get(change_url(article)).content.decode(), "article_form")
    for name, value in changes.items():
        data[name] = value if isinstance(value, list) else [value]
    response = client.post(change_url(article), data)
    assert response.status_code == 302, response.context["errors"]


def restore_in_admin(client, article, version):
    """Open the revision's restore form and save it as it is."""
    url = reverse("admin:articles_article_revision", args=[article.pk, version.pk])
    form = form_data(client.get(url).content.decode(), "article_form")
    return client.post(url, form)


def latest_revision():
    return Revision.objects.order_by("-pk").first()


def test_editor_save_keeps_a_revision_with_who_and_what_changed(editor_client, editor):
    article = make_article(headline="Before")

    edit_in_admin(editor_client, article, headline="After")

    revision = latest_revision()
    assert revision.user == editor
    [entry] = article_history(article)
    assert entry.snapshot["Headline"] == "After"
    history = editor_client.get(history_url(article)).content.decode()
    assert "editor" in history
    assert "Changed Headline." in history


def test_history_lists_which_fields_each_revision_changed(editor_client):
    article = make_article(headline="One", body="Body one.")
    edit_in_admin(editor_client, article)
    edit_in_admin(editor_client, article, headline="Two")
    edit_in_admin(editor_client, article, body="Body two.")

    first, second, third = article_history(article)
    assert "Headline" in first.changed  # the first revision brings everything
    assert second.changed == ["Headline"]
    assert third.changed == ["Body"]
    page = editor_client.get(history_url(article)).content.decode()
    assert page.index("<td>Body</td>") < page.index("<td>Headline</td>")


def test_import_hook_credits_the_file_and_keeps_topics_and_links():
    with revision_context(comment="import: 2024-05-01-kremlin.txt"):
        article = make_article(headline="Imported", source="2024-05-01-kremlin.txt")
        article.tags.add("Russia", "Belarus")
        article.people.add(make_person(name="Vladimir Putin"))
        make_related_link(article, title="Background", url="https://example.com/")

    revision = latest_revision()
    assert revision.user is None
    assert revision.comment == "import: 2024-05-01-kremlin.txt"
    [entry] = article_history(article)
    assert entry.snapshot["Topics"] == "Belarus, Russia"
    assert entry.snapshot["People"] == "Vladimir Putin"
    assert entry.snapshot["Related links"] == "Background — https://example.com/"


def test_a_save_in_code_keeps_one_revision_after_its_commit(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        article = make_article()
        article.tags.add("Economy")
        article.headline = "Saved twice"
        article.save()

    [entry] = article_history(article)
    assert entry.snapshot["Headline"] == "Saved twice"
    assert entry.snapshot["Topics"] == "Economy"
    assert entry.revision.comment == "Saved outside the admin and the importer"


def test_changes_page_escapes_markup(editor_client):
    article = make_article(headline="Plain headline")
    edit_in_admin(
        editor_client, article, headline="<script>alert('x')</script> headline"
    )
    entry = article_history(article)[-1]
    url = reverse(
        "admin:articles_article_revision_changes", args=[article.pk, entry.version.pk]
    )

    html = editor_client.get(url).content.decode()

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>alert(" not in html


def test_marked_difference_marks_removed_and_added_words():
    before, after = marked_difference("The <b>cat</b> sat", "The dog sat")
    assert before == "The <del>&lt;b&gt;cat&lt;/b&gt;</del> sat"
    assert after == "The <ins>dog</ins> sat"


def test_restore_brings_back_headline_body_tags_people_and_links(editor_client):
    putin, lukashenko = make_person(name="Vladimir Putin"), make_person(name="Lukas")
    article = make_article(headline="First version", body="First body.")
    article.tags.add("Russia", "Belarus")
    article.people.add(putin)
    ukraine = Topic.objects.create(name="Ukraine")
    make_related_link(article, title="Old link", url="https://example.com/old")
    edit_in_admin(editor_client, article)  # revision 1: as first written
    link = article.related_links.get()
    edit_in_admin(
        editor_client,
        article,
        headline="Second version",
        body="Second body.",
        tags=str(ukraine.pk),
        people=[str(lukashenko.pk)],
        **{"related_links-0-title": "Changed link"},
    )
    article.refresh_from_db()
    assert article.headline == "Second version"
    first = article_history(article)[0]

    response = restore_in_admin(editor_client, article, first.version)

    assert response.status_code == 302
    article.refresh_from_db()
    assert article.headline == "First version"
    assert article.body == "<p>First body.</p>"
    assert sorted(article.tags.names()) == ["Belarus", "Russia"]
    assert list(article.people.all()) == [putin]
    assert [(lk.pk, lk.title) for lk in article.related_links.all()] == [
        (link.pk, "Old link")
    ]
    entries = article_history(article)
    assert len(entries) == 3
    assert entries[-1].revision.comment.startswith("Restored from the revision of")
    assert set(entries[-1].changed) >= {"Headline", "Body", "Topics", "People"}


def test_restore_removes_a_link_added_after_the_revision(editor_client):
    article = make_article()
    edit_in_admin(editor_client, article)
    make_related_link(article, title="Added later", url="https://example.com/")
    edit_in_admin(editor_client, article, headline="Later")
    first = article_history(article)[0]

    restore_in_admin(editor_client, article, first.version)

    assert not article.related_links.exists()


def test_viewing_a_revision_changes_nothing(editor_client):
    article = make_article(headline="Old")
    edit_in_admin(editor_client, article)
    edit_in_admin(editor_client, article, headline="New")
    first = article_history(article)[0]

    response = editor_client.get(
        reverse("admin:articles_article_revision", args=[article.pk, first.version.pk])
    )

    assert response.status_code == 200
    assert 'value="Old"' in response.content.decode()
    article.refresh_from_db()
    assert article.headline == "New"


def count_history_queries(client, article):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(history_url(article))
    assert response.status_code == 200
    return len(queries)


def test_history_page_query_count_does_not_grow_with_revisions(superuser_client):
    article = make_article()
    article.tags.add("Russia")
    article.people.add(make_person())

    def add_revisions(count):
        for number in range(count):
            with revision_context(comment=f"import: file-{number}.txt"):
                article.headline = f"Version {number}"
                article.save()
                make_related_link(article, target=make_article())

    add_revisions(3)
    few = count_history_queries(superuser_client, article)
    add_revisions(30)
    many = count_history_queries(superuser_client, article)
    assert few == many
    assert Version.objects.get_for_object(article).count() == 33


def test_staff_without_change_permission_cannot_restore(client, editor):
    viewer = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    article = make_article(headline="Old")
    with revision_context(user=editor):
        article.save()
    version = Version.objects.get_for_object(article).get()
    Article.objects.filter(pk=article.pk).update(headline="Current")
    url = reverse("admin:articles_article_revision", args=[article.pk, version.pk])

    response = client.post(url, {"headline": "Old"})

    assert response.status_code == 403
    assert Article.objects.get(pk=article.pk).headline == "Current"


def test_an_articles_versions_are_found_by_index_not_by_reading_them_all():
    """History pages look an article's versions up on reversion's unique index
    (db, content type, object id, revision): nothing may make them scan."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's plan; PostgreSQL plans by its table statistics")
    article = make_article()
    with revision_context(comment="one"):
        article.save()

    plan = Version.objects.get_for_object(article).explain()

    assert "SEARCH reversion_version USING INDEX" in plan
    assert "SCAN reversion_version" not in plan
