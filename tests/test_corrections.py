from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from articles.models import Correction
from tests.conftest import make_article
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def test_editors_may_add_change_view_and_delete_corrections():
    codenames = set(
        Group.objects.get(name="Editors").permissions.values_list("codename", flat=True)
    )
    assert {
        "add_correction",
        "change_correction",
        "view_correction",
        "delete_correction",
    } <= codenames


def post_with_new_correction(client, article, kind, text):
    data = form_data(client.get(change_url(article)).content.decode(), "article_form")
    data.update(
        {
            "corrections-TOTAL_FORMS": ["1"],
            "corrections-0-kind": [kind],
            "corrections-0-published_at_0": ["2024-05-02"],
            "corrections-0-published_at_1": ["09:30:00"],
            "corrections-0-text": [text],
        }
    )
    return client.post(change_url(article), data)


def test_editor_adds_a_correction_in_the_article_form(editor_client):
    article = make_article()

    response = post_with_new_correction(
        editor_client,
        article,
        "clarification",
        "The minister spoke on Tuesday, not Monday.",
    )

    assert response.status_code == 302, response.context["errors"]
    correction = article.corrections.get()
    assert correction.kind == Correction.Kind.CLARIFICATION
    assert correction.text == "The minister spoke on Tuesday, not Monday."
    assert timezone.localtime(correction.published_at).hour == 9


def test_editor_removes_a_correction_from_the_article_form(editor_client):
    article = make_article()
    article.corrections.create(text="Wrongly added.")
    data = form_data(
        editor_client.get(change_url(article)).content.decode(), "article_form"
    )
    data["corrections-0-DELETE"] = ["on"]

    response = editor_client.post(change_url(article), data)

    assert response.status_code == 302, response.context["errors"]
    assert not article.corrections.exists()


def test_correction_without_text_is_refused(editor_client):
    article = make_article()

    response = post_with_new_correction(editor_client, article, "correction", "")

    assert response.status_code == 200
    assert not Correction.objects.exists()


def test_corrections_come_back_oldest_first_and_default_to_now():
    article = make_article()
    later = article.corrections.create(text="Second.")
    earlier = article.corrections.create(
        text="First.", published_at=timezone.now() - timedelta(days=1)
    )

    assert list(article.corrections.all()) == [earlier, later]
    assert later.kind == Correction.Kind.CORRECTION
    assert abs(later.published_at - timezone.now()) < timedelta(minutes=1)


def test_a_correction_does_not_move_the_updated_notice():
    article = make_article()
    article.corrections.create(text="A fix.")
    article.save()
    article.refresh_from_db()
    assert article.content_updated_at is None
