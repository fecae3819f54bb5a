"""Preview before saving: the change form's Preview button (issue 19)."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from reversion.models import Revision, Version

from articles.models import Article, PageGeneration, PageKey, RelatedLink, Topic
from articles.redirects import SlugRedirect
from tests.conftest import make_article, make_person
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def preview_url(article):
    return reverse("admin:articles_article_preview", args=[article.pk])


def stored_state():
    """Everything a save would touch, to compare before and after a preview."""
    return {
        "articles": list(Article.objects.values_list("pk", "headline", "body", "slug")),
        "topics": list(Topic.objects.values_list("pk", flat=True)),
        "tagged": list(Article.tags.through.objects.values_list("pk", flat=True)),
        "links": list(RelatedLink.objects.values_list("pk", "title")),
        "revisions": Revision.objects.count(),
        "versions": Version.objects.count(),
        "redirects": SlugRedirect.objects.count(),
        "generation": list(PageGeneration.objects.values_list("token", "changes")),
        "page_keys": list(PageKey.objects.values_list("key", "version")),
    }


def test_change_form_offers_a_preview_button_that_needs_no_javascript(editor_client):
    article = make_article()
    html = editor_client.get(change_url(article)).content.decode()
    assert (
        f'<input type="submit" value="Preview" name="_preview" '
        f'formaction="{preview_url(article)}" formtarget="_blank">'
    ) in html
    add_form = editor_client.get(reverse("admin:articles_article_add")).content
    assert b'formaction="/admin/articles/article/add/preview/"' in add_form


def test_preview_shows_unsaved_changes_and_stores_nothing(
    editor_client, django_capture_on_commit_callbacks
):
    article = make_article(headline="Old headline", body="Old body.")
    article.tags.add("Russia")
    person = make_person(name="Ada Lovelace")
    belarus = Topic.objects.create(name="Belarus")
    PageGeneration.objects.update_or_create(pk=1, defaults={"token": "before"})
    data = form_data(
        editor_client.get(change_url(article)).content.decode(), "article_form"
    )
    data.update(
        headline=["New headline, not saved"],
        slug=["a-new-address"],
        body=["A new first paragraph.\r\n\r\nA new second one."],
        tags=[str(belarus.pk)],
        people=[str(person.pk)],
        **{
            "related_links-TOTAL_FORMS": ["1"],
            "related_links-0-position": ["1"],
            "related_links-0-title": ["An unsaved link"],
            "related_links-0-url": ["https://example.com/unsaved"],
        },
    )
    before = stored_state()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = editor_client.post(preview_url(article), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<h1 class="headline">New headline, not saved</h1>' in html
    assert "<p>A new second one.</p>" in html
    assert "Old body." not in html
    assert ">Belarus</a>" in html and ">Russia</a>" not in html
    assert ">Ada Lovelace</a>" in html
    assert "An unsaved link" in html
    assert "Preview of unsaved changes." in html
    assert '<meta name="robots" content="noindex">' in html
    assert response["X-Robots-Tag"] == "noindex"
    assert "no-store" in response["Cache-Control"]
    assert stored_state() == before
    assert callbacks == []  # no revision or file work waits for a commit
    article.refresh_from_db()
    assert article.headline == "Old headline"


def test_preview_of_a_new_article_stores_nothing(editor_client):
    add_url = reverse("admin:articles_article_add")
    data = form_data(editor_client.get(add_url).content.decode(), "article_form")
    data.update(headline=["A story not yet saved"], slug=["unsaved"], body=["Text."])
    before = stored_state()

    response = editor_client.post(reverse("admin:articles_article_add_preview"), data)

    assert response.status_code == 200
    assert b"A story not yet saved" in response.content
    assert b"Preview of unsaved changes." in response.content
    assert stored_state() == before
    assert not Article.objects.exists()


def test_preview_of_an_invalid_form_says_what_to_fix(editor_client):
    article = make_article()
    data = form_data(
        editor_client.get(change_url(article)).content.decode(), "article_form"
    )
    data["headline"] = [""]
    data["tags"] = ["Typo"]

    response = editor_client.post(preview_url(article), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing to preview yet" in html
    assert "Headline: This field is required." in html
    assert "“Typo” is not a stored topic" in html
    assert not Topic.objects.exists()


def test_preview_needs_a_post_and_the_change_permission(client, editor):
    article = make_article()
    client.force_login(editor)
    assert client.get(preview_url(article)).status_code == 405

    reader = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    reader.user_permissions.set(Permission.objects.filter(codename="view_article"))
    client.force_login(reader)
    data = {"headline": "Hijack", "slug": "hijack", "body": "x", "status": "draft"}
    assert client.post(preview_url(article), data).status_code == 403
    assert (
        client.post(reverse("admin:articles_article_add_preview"), data).status_code
        == 403
    )
    client.logout()
    anonymous = client.post(preview_url(article), data)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("admin:login"))


def test_preview_of_a_missing_article_is_404(editor_client):
    response = editor_client.post(
        reverse("admin:articles_article_preview", args=[999999]), {}
    )
    assert response.status_code == 404
