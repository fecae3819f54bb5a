import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles.models import Article, RelatedLink, Topic
from tests.conftest import make_article, make_person, make_related_link
from tests.html_forms import form_data

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


def test_article_form_names_inline_cells_and_date_time_halves(editor_client):
    # Without JavaScript too: a tabular inline's cells have a column header,
    # no <label>, and a date-time field's halves only "Date:" and "Time:".
    response = editor_client.get(reverse("admin:articles_article_add"))
    html = response.content.decode()
    assert 'aria-label="Position"' in html
    assert 'aria-label="Author"' in html
    assert 'aria-label="Target"' in html
    assert 'aria-label="Published at date"' in html
    assert 'aria-label="Published at time"' in html
    assert "js/admin-article-form" in html


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
    topics = [Topic.objects.create(name=name) for name in ["Russia", "Belarus"]]
    response = editor_client.post(
        reverse("admin:articles_article_add"),
        article_form_data(people=[person.pk], tags=[topic.pk for topic in topics]),
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


# Topics are chosen from the stored ones, never typed (issue 19).


def test_article_form_picks_topics_with_the_autocomplete(editor_client):
    article = make_article()
    article.tags.add("Russia")
    html = editor_client.get(
        reverse("admin:articles_article_change", args=[article.pk])
    ).content.decode()
    assert 'data-field-name="tags"' in html
    assert 'class="admin-autocomplete"' in html
    russia = Topic.objects.get(name="Russia")
    assert f'<option value="{russia.pk}" selected>Russia</option>' in html
    # Editors may add topics, so the "+" popup to the topic form is offered.
    assert 'id="add_id_tags"' in html


def test_topics_autocomplete_searches_the_topics(editor_client):
    for name in ["Russia", "Belarus", "Russian economy"]:
        Topic.objects.create(name=name)
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "articles",
            "model_name": "article",
            "field_name": "tags",
            "term": "Russ",
        },
    )
    assert response.status_code == 200
    names = [result["text"] for result in response.json()["results"]]
    assert names == ["Russia", "Russian economy"]


def test_typed_unknown_topic_is_refused_and_creates_no_topic(editor_client):
    Topic.objects.create(name="Russia")
    add_url = reverse("admin:articles_article_add")
    data = form_data(editor_client.get(add_url).content.decode(), "article_form")
    data.update(article_form_data(tags=["Rusia"]))

    response = editor_client.post(add_url, data)

    assert response.status_code == 200
    assert "“Rusia” is not a stored topic: choose topics from the list" in (
        response.content.decode()
    )
    assert list(Topic.objects.values_list("name", flat=True)) == ["Russia"]
    assert not Article.objects.exists()


def test_chosen_topics_replace_the_stored_ones(editor_client):
    article = make_article()
    article.tags.add("Russia", "Belarus")
    ukraine = Topic.objects.create(name="Ukraine")
    change_url = reverse("admin:articles_article_change", args=[article.pk])
    data = form_data(editor_client.get(change_url).content.decode(), "article_form")
    assert len(data["tags"]) == 2  # the stored topics come back selected
    data["tags"] = [str(ukraine.pk)]

    response = editor_client.post(change_url, data)

    assert response.status_code == 302
    assert list(article.tags.names()) == ["Ukraine"]
    assert Topic.objects.count() == 3


def test_staff_who_may_not_add_topics_get_no_add_link(client, editor):
    editor.groups.clear()
    editor.user_permissions.set(
        Permission.objects.filter(
            codename__in=["add_article", "change_article", "view_article", "view_topic"]
        )
    )
    client.force_login(editor)
    html = client.get(reverse("admin:articles_article_add")).content.decode()
    assert 'data-field-name="tags"' in html
    assert 'id="add_id_tags"' not in html


# The admin's article search is the site's full-text search (issue 19).


def admin_search(client, text, **params):
    response = client.get(
        reverse("admin:articles_article_changelist"), {"q": text, **params}
    )
    assert response.status_code == 200
    return [article.slug for article in response.context["cl"].result_list]


def test_admin_search_finds_a_word_only_the_body_holds_in_drafts_too(editor_client):
    make_article(slug="unrelated", body="Nothing to see.")
    make_article(
        slug="draft-with-the-word",
        status=Article.Status.DRAFT,
        published_at=None,
        body="Deep in the text the glaciers retreat.",
    )
    # Stemmed as on the site: "glacier" finds "glaciers".
    assert admin_search(editor_client, "glacier") == ["draft-with-the-word"]


def test_admin_search_ranks_a_headline_match_first(editor_client):
    make_article(slug="in-the-body", headline="Weather", body="On the fjord, once.")
    make_article(slug="in-the-standfirst", headline="Anglers", standfirst="Fjord.")
    make_article(slug="in-the-headline", headline="Fjord freezes over")
    make_article(slug="elsewhere", headline="Fjords", body="Elsewhere.")
    make_article(slug="unrelated", body="Nothing here.")

    ranked = admin_search(editor_client, "fjord")
    # The two headline matches ("fjords" stems to "fjord"), then the others.
    assert sorted(ranked[:2]) == ["elsewhere", "in-the-headline"]
    assert ranked[2:] == ["in-the-standfirst", "in-the-body"]
    # A column the editor sorts by (1: the headline) wins over the rank.
    assert admin_search(editor_client, "fjord", o="1") == [
        "in-the-standfirst",
        "in-the-headline",
        "elsewhere",
        "in-the-body",
    ]


def test_admin_search_is_no_substring_scan(editor_client):
    make_article(slug="substring", body="The spokesperson declined.")
    # "person" is inside "spokesperson": the old substring search found it.
    assert admin_search(editor_client, "person") == []
    assert admin_search(editor_client, "the") == []  # stop words alone: nothing
    assert len(admin_search(editor_client, "")) == 1


def test_admin_search_combines_with_the_filters(editor_client):
    make_article(slug="published-match", body="Tundra.")
    make_article(
        slug="draft-match",
        status=Article.Status.DRAFT,
        published_at=None,
        body="Tundra.",
    )
    assert admin_search(editor_client, "tundra", publication="draft") == ["draft-match"]
    # A topic filter (a join that may repeat rows): each match once.
    Article.objects.get(slug="published-match").tags.add("Arctic", "Climate")
    arctic = Topic.objects.get(name="Arctic")
    assert admin_search(editor_client, "tundra", tags__id__exact=arctic.pk) == [
        "published-match"
    ]


def test_related_link_target_autocomplete_uses_the_full_text_search(editor_client):
    make_article(slug="target", headline="Volcano erupts")
    make_article(slug="other", body="No volcanoes mentioned? volcanic.")
    response = editor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "articles",
            "model_name": "relatedlink",
            "field_name": "target",
            "term": "volcano erupts",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Volcano erupts"]
