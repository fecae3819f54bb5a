import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article, RelatedLink
from tests.conftest import make_article, make_person, make_related_link

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "admin:articles_article_changelist",
    "admin:articles_article_add",
    "admin:articles_person_changelist",
    "admin:articles_person_add",
    "admin:articles_topic_changelist",
    "admin:articles_topic_add",
]


@pytest.fixture(params=["superuser_client", "editor_client"])
def staff_client(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("url_name", ADMIN_PAGES)
def test_content_admin_pages_open_for_superuser_and_editor(staff_client, url_name):
    response = staff_client.get(reverse(url_name))
    assert response.status_code == 200


def test_change_pages_open_for_superuser_and_editor(staff_client):
    article = make_article()
    article.people.add(make_person())
    make_related_link(article)
    person = make_person()

    for url in [
        reverse("admin:articles_article_change", args=[article.pk]),
        reverse("admin:articles_person_change", args=[person.pk]),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_editor_gets_403_on_user_and_group_admin(editor_client):
    for url_name in ["admin:auth_user_changelist", "admin:auth_group_changelist"]:
        assert editor_client.get(reverse(url_name)).status_code == 403


def test_editor_cannot_delete_an_article(editor_client):
    article = make_article()
    delete_url = reverse("admin:articles_article_delete", args=[article.pk])

    assert editor_client.get(delete_url).status_code == 403
    assert editor_client.post(delete_url, {"post": "yes"}).status_code == 403
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "delete_selected", "_selected_action": [article.pk], "post": "yes"},
    )
    assert Article.objects.filter(pk=article.pk).exists()
    change_page = editor_client.get(
        reverse("admin:articles_article_change", args=[article.pk])
    )
    assert b"deletelink" not in change_page.content
    assert response.status_code in (200, 302)


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("admin:articles_article_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_article_form_has_related_links_inline_and_people_autocomplete(editor_client):
    response = editor_client.get(reverse("admin:articles_article_add"))
    html = response.content.decode()
    assert 'id="related_links-group"' in html
    assert 'name="related_links-TOTAL_FORMS"' in html
    assert 'id="id_people" class="admin-autocomplete"' in html
    assert 'data-field-name="people"' in html


def count_changelist_queries(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:articles_article_changelist"))
    assert response.status_code == 200
    return len(queries)


def test_article_changelist_query_count_does_not_grow_with_rows(superuser_client):
    def add_articles(count):
        for _ in range(count):
            article = make_article()
            article.tags.add("Russia", "Belarus")
            article.people.add(make_person(), make_person())

    add_articles(5)
    five = count_changelist_queries(superuser_client)
    add_articles(45)
    fifty = count_changelist_queries(superuser_client)
    assert five == fifty


def article_form_data(**overrides):
    data = {
        "headline": "Kremlin backs plan",
        "slug": "kremlin-backs-plan",
        "standfirst": "A plan.",
        "body": "Paragraph one.",
        "image_caption": "",
        "image_credit": "",
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "tags": "Russia, Belarus",
        "related_links-TOTAL_FORMS": "1",
        "related_links-INITIAL_FORMS": "0",
        "related_links-MIN_NUM_FORMS": "0",
        "related_links-MAX_NUM_FORMS": "1000",
        "related_links-0-position": "1",
        "related_links-0-title": "Elsewhere",
        "related_links-0-summary": "",
        "related_links-0-url": "https://example.com/story",
        "related_links-0-target": "",
        "corrections-TOTAL_FORMS": "0",
        "corrections-INITIAL_FORMS": "0",
        "corrections-MIN_NUM_FORMS": "0",
        "corrections-MAX_NUM_FORMS": "1000",
        "bylines-TOTAL_FORMS": "0",
        "bylines-INITIAL_FORMS": "0",
        "bylines-MIN_NUM_FORMS": "0",
        "bylines-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_editor_adds_article_with_topics_people_and_link(editor_client):
    person = make_person(name="Vladimir Putin", slug="vladimir-putin")
    response = editor_client.post(
        reverse("admin:articles_article_add"), article_form_data(people=[person.pk])
    )
    assert response.status_code == 302, response.context["errors"]
    article = Article.objects.get(slug="kremlin-backs-plan")
    assert sorted(article.tags.names()) == ["Belarus", "Russia"]
    assert list(article.people.all()) == [person]
    assert article.related_links.get().url == "https://example.com/story"


def test_javascript_related_link_is_refused_with_a_form_error(editor_client):
    response = editor_client.post(
        reverse("admin:articles_article_add"),
        article_form_data(**{"related_links-0-url": "javascript:alert(1)"}),
    )
    assert response.status_code == 200
    assert "Enter a web address that starts with http:// or https://." in (
        response.content.decode()
    )
    assert not Article.objects.exists()
    assert not RelatedLink.objects.exists()


def test_publish_and_unpublish_actions_apply_after_confirmation(editor_client):
    draft = make_article(status=Article.Status.DRAFT, published_at=None)
    changelist = reverse("admin:articles_article_changelist")

    asked = editor_client.post(
        changelist, {"action": "publish", "_selected_action": [draft.pk]}
    )
    assert asked.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT

    editor_client.post(
        changelist,
        {"action": "publish", "_selected_action": [draft.pk], "confirm": "yes"},
    )
    draft.refresh_from_db()
    assert draft.is_published

    editor_client.post(
        changelist,
        {"action": "unpublish", "_selected_action": [draft.pk], "confirm": "yes"},
    )
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT
    assert not Article.objects.published().exists()


def test_person_changelist_counts_articles(superuser_client):
    person = make_person(name="Xi Jinping")
    for _ in range(3):
        make_article().people.add(person)
    response = superuser_client.get(reverse("admin:articles_person_changelist"))
    assert response.context["cl"].result_list[0].article_total == 3


def test_editor_signs_in_through_the_login_form(client, editor):
    login_url = reverse("admin:login")
    assert client.get(login_url).status_code == 200

    wrong = client.post(login_url, {"username": "editor", "password": "nope"})
    assert wrong.status_code == 200
    assert "Please enter the correct username and password" in wrong.content.decode()

    right = client.post(
        login_url,
        {"username": "editor", "password": "pw-editor-1", "next": "/admin/"},
    )
    assert right.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_people_autocomplete_finds_a_person_in_name_order(editor_client):
    make_person(name="Ada Lovelace")
    make_person(name="Ada Byron")
    make_person(name="Charles Babbage")

    response = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "articles",
            "model_name": "article",
            "field_name": "people",
            "term": "Ada",
        },
    )

    assert response.status_code == 200
    names = [result["text"] for result in response.json()["results"]]
    assert names == ["Ada Byron", "Ada Lovelace"]
