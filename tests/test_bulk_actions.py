from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone
from reversion.models import Version

from articles.models import Article, Topic
from tests.conftest import make_article, make_person

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:articles_article_changelist"


def run_action(client, action, articles, confirm=True, **fields):
    data = {"action": action, "_selected_action": [a.pk for a in articles], **fields}
    if confirm:
        data["confirm"] = "yes"
    return client.post(reverse(CHANGELIST), data, follow=confirm)


def topic_names(article):
    return sorted(article.tags.names())


def messages_of(response):
    return [str(message) for message in response.context["messages"]]


def test_asking_shows_the_count_and_a_topic_choice_and_changes_nothing(
    editor_client,
):
    articles = [make_article() for _ in range(3)]
    topic = Topic.objects.create(name="Russia", slug="russia")

    response = run_action(editor_client, "add_topic", articles, confirm=False)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Add a topic to selected articles: 3 articles selected." in html
    assert f'<option value="{topic.pk}">Russia</option>' in html
    assert html.count('name="_selected_action"') == 3
    assert not topic.tagged_articles.exists()


def test_add_topic_changes_exactly_the_selected_articles(editor_client):
    selected = [make_article(), make_article()]
    already = make_article()
    already.tags.add("Russia")
    untouched = make_article()
    topic = Topic.objects.get(name="Russia")

    response = run_action(
        editor_client, "add_topic", [*selected, already], choice=topic.pk
    )

    assert messages_of(response) == [
        'Added topic "Russia" to 2 of 3 selected article(s).'
    ]
    assert [topic_names(a) for a in selected] == [["Russia"], ["Russia"]]
    assert topic_names(untouched) == []


def test_remove_topic_offers_only_topics_of_the_selection(editor_client):
    selected = make_article()
    selected.tags.add("Russia")
    other = make_article()
    other.tags.add("Russia", "Belarus")
    russia = Topic.objects.get(name="Russia")

    asked = run_action(editor_client, "remove_topic", [selected], confirm=False)
    assert "Belarus" not in asked.content.decode()

    run_action(editor_client, "remove_topic", [selected], choice=russia.pk)
    assert topic_names(selected) == []
    assert topic_names(other) == ["Belarus", "Russia"]


def test_add_and_remove_person_change_exactly_the_selected_articles(editor_client):
    person = make_person(name="Xi Jinping")
    first, second, third = make_article(), make_article(), make_article()
    third.people.add(person)

    response = run_action(
        editor_client, "add_person", [first, second], choice=person.pk
    )
    assert messages_of(response) == [
        'Added "Xi Jinping" to 2 of 2 selected article(s).'
    ]
    assert set(person.articles.all()) == {first, second, third}

    run_action(editor_client, "remove_person", [second, third], choice=person.pk)
    assert list(person.articles.all()) == [first]


def test_publish_and_unpublish_change_exactly_the_selected_articles(editor_client):
    drafts = [
        make_article(status=Article.Status.DRAFT, published_at=None) for _ in range(3)
    ]
    tomorrow = timezone.now() + timedelta(days=1)
    scheduled = make_article(status=Article.Status.DRAFT, published_at=tomorrow)

    response = run_action(editor_client, "publish", [drafts[0], drafts[1], scheduled])

    assert messages_of(response) == ["Published 3 of 3 selected article(s)."]
    statuses = [Article.objects.get(pk=a.pk).status for a in drafts]
    assert statuses == ["published", "published", "draft"]
    scheduled.refresh_from_db()
    assert scheduled.published_at == tomorrow
    assert not scheduled.is_published

    run_action(editor_client, "unpublish", [drafts[0]])
    statuses = [Article.objects.get(pk=a.pk).status for a in drafts]
    assert statuses == ["draft", "published", "draft"]


def test_confirming_without_a_choice_asks_again_and_changes_nothing(editor_client):
    article = make_article()
    Topic.objects.create(name="Russia", slug="russia")

    response = run_action(editor_client, "add_topic", [article], choice="")

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert topic_names(article) == []


def test_each_changed_article_gets_a_revision_credited_to_the_editor(
    editor_client, editor
):
    changed, unchanged = make_article(), make_article()
    unchanged.tags.add("Russia")
    russia = Topic.objects.get(name="Russia")

    run_action(editor_client, "add_topic", [changed, unchanged], choice=russia.pk)

    [version] = Version.objects.get_for_object(changed)
    assert version.revision.user == editor
    assert version.revision.comment.startswith('Bulk change: Added topic "Russia"')
    assert not Version.objects.get_for_object(unchanged).exists()


def test_staff_without_change_permission_cannot_run_bulk_actions(client):
    viewer = User.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(viewer)
    draft = make_article(status=Article.Status.DRAFT, published_at=None)

    changelist = client.get(reverse(CHANGELIST)).content.decode()
    run_action(client, "publish", [draft])

    assert 'value="publish"' not in changelist
    draft.refresh_from_db()
    assert draft.status == Article.Status.DRAFT


def test_editors_are_offered_all_six_bulk_actions(editor_client):
    make_article()
    html = editor_client.get(reverse(CHANGELIST)).content.decode()
    for action in [
        "add_topic",
        "remove_topic",
        "add_person",
        "remove_person",
        "publish",
        "unpublish",
    ]:
        assert f'<option value="{action}">' in html
