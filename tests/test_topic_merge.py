import pytest
from django.urls import reverse
from reversion.models import Version

from articles.bulk import merge_topics
from articles.history import article_history, revision_context
from articles.models import Topic
from articles.redirects import SlugRedirect
from tests.conftest import make_article

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:articles_topic_changelist"


def topic(name, slug, **fields):
    return Topic.objects.create(name=name, slug=slug, **fields)


def merge_in_admin(client, topics, survivor, confirm=True):
    data = {
        "action": "merge_selected_topics",
        "_selected_action": [t.pk for t in topics],
    }
    if confirm:
        data.update(confirm="yes", survivor=survivor.pk)
    return client.post(reverse(CHANGELIST), data, follow=confirm)


def test_merge_asks_which_topic_to_keep_and_changes_nothing(editor_client):
    kremlin, russia = topic("Kremlin", "kremlin"), topic("Russia", "russia")

    response = merge_in_admin(editor_client, [kremlin, russia], russia, confirm=False)

    html = response.content.decode()
    assert "2 topics selected." in html
    assert html.count('name="survivor"') == 2
    assert Topic.objects.count() == 2


def test_editor_merges_topics_and_articles_are_retagged(editor_client, client):
    survivor = topic(
        "Russia", "russia", description="News from Russia.", keywords="Russia, Moscow"
    )
    kremlin = topic(
        "Kremlin", "kremlin", description="The Kremlin.", keywords="Kremlin, Moscow"
    )
    moscow = topic("Moscow", "moscow", keywords="Muscovite")
    only_kremlin, both = make_article(), make_article()
    only_kremlin.tags.add(kremlin, moscow)
    both.tags.add(kremlin, survivor)
    elsewhere = make_article()
    elsewhere.tags.add(topic("Belarus", "belarus"))

    response = merge_in_admin(editor_client, [survivor, kremlin, moscow], survivor)

    assert [str(m) for m in response.context["messages"]] == [
        'Merged 2 topic(s) into "Russia"; 2 article(s) retagged.'
    ]
    assert sorted(Topic.objects.values_list("name", flat=True)) == ["Belarus", "Russia"]
    assert list(only_kremlin.tags.names()) == ["Russia"]
    assert list(both.tags.names()) == ["Russia"]
    assert list(elsewhere.tags.names()) == ["Belarus"]
    survivor.refresh_from_db()
    assert survivor.keyword_list() == ["Russia", "Moscow", "Kremlin", "Muscovite"]
    assert survivor.description == "News from Russia.\n\nThe Kremlin."


def test_merged_topic_pages_and_feeds_answer_301_to_the_survivor(client):
    survivor, merged = topic("Russia", "russia"), topic("Kremlin", "kremlin")
    merge_topics(survivor, [merged])

    page = client.get("/tags/kremlin/")
    feed = client.get("/tags/kremlin/feed/atom/")

    assert (page.status_code, page["Location"]) == (301, "/tags/russia/")
    assert (feed.status_code, feed["Location"]) == (301, "/tags/russia/feed/atom/")


def test_old_slugs_of_a_merged_topic_follow_it_to_the_survivor(client):
    survivor, merged = topic("Russia", "russia"), topic("Kremlin", "kreml")
    merged.slug = "kremlin"
    merged.save()

    merge_topics(survivor, [merged])

    assert client.get("/tags/kreml/")["Location"] == "/tags/russia/"
    assert client.get("/tags/kremlin/")["Location"] == "/tags/russia/"
    assert SlugRedirect.objects.filter(topic=survivor).count() == 2


def test_merge_records_a_revision_for_each_retagged_article(editor_client, editor):
    survivor, merged = topic("Russia", "russia"), topic("Kremlin", "kremlin")
    article = make_article()
    article.tags.add(merged)

    merge_in_admin(editor_client, [survivor, merged], survivor)

    [version] = Version.objects.get_for_object(article)
    assert version.revision.user == editor
    assert version.revision.comment == 'Merged topic(s) Kremlin into "Russia"'


def test_merge_records_a_revision_even_when_the_article_had_one(editor_client):
    """Only the article's topics change, so its own fields equal its last
    revision's: that must not count as "nothing changed"."""
    survivor, merged = topic("Russia", "russia"), topic("Kremlin", "kremlin")
    with revision_context(comment="before the merge"):
        article = make_article()
        article.tags.add(merged)

    merge_in_admin(editor_client, [survivor, merged], survivor)

    history = article_history(article)
    assert [entry.revision.comment for entry in history] == [
        "before the merge",
        'Merged topic(s) Kremlin into "Russia"',
    ]
    assert history[-1].snapshot["Topics"] == "Russia"
    assert history[-1].changed == ["Topics"]


def test_merge_refuses_keywords_too_long_to_keep_and_changes_nothing(editor_client):
    survivor = topic("Russia", "russia", keywords="a" * 600)
    merged = topic("Kremlin", "kremlin", keywords="b" * 600)
    article = make_article()
    article.tags.add(merged)

    response = merge_in_admin(editor_client, [survivor, merged], survivor)

    [message] = [str(m) for m in response.context["messages"]]
    assert message.startswith("The merged keywords would be 1202 characters")
    assert Topic.objects.count() == 2
    assert list(article.tags.names()) == ["Kremlin"]


def test_merge_needs_two_topics(editor_client):
    only = topic("Russia", "russia")
    response = merge_in_admin(editor_client, [only], only)
    assert [str(m) for m in response.context["messages"]] == [
        "Select at least two topics to merge."
    ]
