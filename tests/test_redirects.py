import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from articles import redirects
from articles.models import Article, Person, Topic
from articles.redirects import SlugRedirect
from tests.conftest import make_article, make_person
from tests.html_forms import form_data

pytestmark = pytest.mark.django_db


def rename(obj, slug):
    obj.slug = slug
    obj.save()
    return obj


def test_renamed_article_answers_301_from_its_old_address(client):
    article = rename(make_article(slug="old-headline"), "new-headline")

    response = client.get("/articles/old-headline/")

    assert response.status_code == 301
    assert response["Location"] == "/articles/new-headline/"
    assert client.get(response["Location"]).context["article"] == article


def test_slug_changed_twice_answers_one_hop_from_the_first_address(client):
    article = make_article(slug="first")
    rename(article, "second")
    rename(article, "third")

    for old in ["/articles/first/", "/articles/second/"]:
        response = client.get(old)
        assert response.status_code == 301
        assert response["Location"] == "/articles/third/"
    assert client.get("/articles/third/").status_code == 200


def test_everything_under_the_old_prefix_follows_with_its_query(client):
    topic = Topic.objects.create(name="Kremlin", slug="kremlin")
    rename(topic, "russian-government")

    response = client.get("/tags/kremlin/feed/rss/?page=2")

    assert response.status_code == 301
    assert response["Location"] == "/tags/russian-government/feed/rss/?page=2"


def test_renamed_topic_and_person_pages_answer_301(client):
    topic = rename(Topic.objects.create(name="Belarus", slug="by"), "belarus")
    person = rename(make_person(slug="putin"), "vladimir-putin")

    assert client.get("/tags/by/")["Location"] == topic.get_absolute_url()
    assert client.get("/people/putin/")["Location"] == person.get_absolute_url()


def test_old_slug_taken_by_a_new_article_serves_the_new_article(client):
    rename(make_article(slug="budget"), "budget-2024")
    newcomer = make_article(slug="budget")

    response = client.get("/articles/budget/")

    assert response.status_code == 200
    assert response.context["article"] == newcomer
    assert not SlugRedirect.objects.filter(old_slug="budget").exists()


def test_topic_created_by_tagging_takes_over_an_old_topic_slug(client):
    topic = Topic.objects.create(name="Economy", slug="economy")
    topic.name = "Economics"
    rename(topic, "economics")
    make_article().tags.add(topic)  # topic pages without stories are 404
    article = make_article()
    article.tags.add("Economy")

    assert client.get("/tags/economy/").status_code == 200
    assert client.get("/tags/economics/").status_code == 200


def test_slug_renamed_back_serves_the_page_and_redirects_the_other(client):
    article = make_article(slug="a")
    rename(article, "b")
    rename(article, "a")

    assert client.get("/articles/a/").status_code == 200
    assert client.get("/articles/b/")["Location"] == "/articles/a/"


def test_old_address_of_an_unpublished_story_stays_404(client):
    article = make_article(slug="leak")
    article.status = Article.Status.DRAFT
    rename(article, "secret-new-slug")

    assert client.get("/articles/leak/").status_code == 404


def test_deleting_an_object_forgets_its_old_addresses(client):
    article = rename(make_article(slug="gone"), "going")
    article.delete()

    assert client.get("/articles/gone/").status_code == 404
    assert not SlugRedirect.objects.exists()


def test_unknown_addresses_stay_404(client):
    assert client.get("/articles/never-existed/").status_code == 404
    assert client.get("/elsewhere/entirely/").status_code == 404


def test_editor_renames_a_slug_in_the_admin_and_the_old_address_follows(
    editor_client,
):
    article = make_article(slug="draft-title", headline="Draft title")
    change_url = reverse("admin:articles_article_change", args=[article.pk])
    data = form_data(editor_client.get(change_url).content.decode(), "article_form")
    data["slug"] = ["final-title"]
    response = editor_client.post(change_url, data)
    assert response.status_code == 302, response.context["errors"]

    response = editor_client.get("/articles/draft-title/")
    assert response.status_code == 301
    assert response["Location"] == "/articles/final-title/"


def test_editor_renames_a_topic_and_a_person_in_the_admin(editor_client, client):
    topic = Topic.objects.create(name="Kyiv", slug="kiev")
    person = make_person(name="Olaf Scholz", slug="scholz")

    editor_client.post(
        reverse("admin:articles_topic_change", args=[topic.pk]),
        {"name": "Kyiv", "slug": "kyiv", "description": "", "keywords": ""},
    )
    editor_client.post(
        reverse("admin:articles_person_change", args=[person.pk]),
        {"name": "Olaf Scholz", "slug": "olaf-scholz", "aliases": "", "bio": ""},
    )

    assert client.get("/tags/kiev/")["Location"] == "/tags/kyiv/"
    assert client.get("/people/scholz/")["Location"] == "/people/olaf-scholz/"


def test_find_by_slug_knows_a_story_by_its_old_slug():
    article = rename(make_article(slug="as-imported"), "as-edited")

    assert redirects.find_by_slug(Article, "as-imported") == article
    assert redirects.find_by_slug(Article, "as-edited") == article
    assert redirects.find_by_slug(Person, "as-imported") is None


def test_path_moved_is_announced_after_commit(django_capture_on_commit_callbacks):
    moves = []

    def remember(**kwargs):
        moves.append((kwargs["old_prefix"], kwargs["new_prefix"]))

    redirects.path_moved.connect(remember)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            rename(make_article(slug="before"), "after")
            assert moves == []
    finally:
        redirects.path_moved.disconnect(remember)

    assert moves == [("/articles/before/", "/articles/after/")]


def test_a_redirect_points_at_exactly_one_object_of_its_kind():
    article = make_article()
    with pytest.raises(IntegrityError), transaction.atomic():
        SlugRedirect.objects.create(kind="topic", old_slug="x", article=article)
