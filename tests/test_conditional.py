"""ETag and Last-Modified: a repeat visit gets 304 until the page changes."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django.utils.http import http_date

from articles.models import Article, Person, RelatedLink, Topic
from tests.conftest import make_article, make_person, make_related_link

# What the views do themselves; the page cache in front is tests/test_cache.py's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]


@pytest.fixture
def story():
    article = make_article(slug="story")
    article.tags.add("Russia")
    article.people.add(make_person(slug="putin"))
    make_related_link(article, target=make_article(slug="linked"))
    return article


def etag_of(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response["ETag"]


@pytest.mark.parametrize("url", ["/articles/story/", "/tags/russia/", "/people/putin/"])
def test_repeated_request_with_the_etag_gets_304(client, story, url):
    first = client.get(url)
    assert first["ETag"].startswith('"')
    assert first.has_header("Last-Modified")

    repeat = client.get(url, headers={"if-none-match": first["ETag"]})
    assert repeat.status_code == 304
    assert repeat.content == b""
    assert repeat["ETag"] == first["ETag"]


@pytest.mark.parametrize("url", ["/articles/story/", "/tags/russia/", "/people/putin/"])
def test_request_since_last_modified_gets_304(client, story, url):
    last_modified = client.get(url)["Last-Modified"]
    repeat = client.get(url, headers={"if-modified-since": last_modified})
    assert repeat.status_code == 304
    earlier = http_date((timezone.now() - timedelta(days=1)).timestamp())
    assert client.get(url, headers={"if-modified-since": earlier}).status_code == 200


def test_conditional_check_costs_one_query(client, story, django_assert_num_queries):
    etag = etag_of(client, "/articles/story/")
    with django_assert_num_queries(1):
        response = client.get("/articles/story/", headers={"if-none-match": etag})
    assert response.status_code == 304


def edit_headline(story):
    story.headline = "A new headline"
    story.save()


def edit_person(story):
    person = Person.objects.get(slug="putin")
    person.description = "President of Russia"
    person.save()


def rename_topic(story):
    Topic.objects.filter(slug="russia").update(name="Russian Federation")


def add_topic_without_saving_the_article(story):
    story.tags.add("Belarus")


def add_person_without_saving_the_article(story):
    story.people.add(make_person())


def retitle_related_link(story):
    RelatedLink.objects.filter(article=story).update(summary="New summary")


def edit_linked_story(story):
    linked = Article.objects.get(slug="linked")
    linked.headline = "Linked story, rewritten"
    linked.save()


def unpublish_linked_story(story):
    # update() leaves updated_at alone: the link's own state must still count.
    Article.objects.filter(slug="linked").update(status=Article.Status.DRAFT)


def publish_story_sharing_a_topic(story):
    make_article().tags.add("Russia")


def tag_an_old_story_without_saving_it(story):
    old = make_article(published_at=timezone.now() - timedelta(days=400))
    Article.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - timedelta(days=400)
    )
    old.tags.add("Russia")


@pytest.mark.parametrize(
    "change",
    [
        edit_headline,
        edit_person,
        rename_topic,
        add_topic_without_saving_the_article,
        add_person_without_saving_the_article,
        retitle_related_link,
        edit_linked_story,
        unpublish_linked_story,
        publish_story_sharing_a_topic,
        tag_an_old_story_without_saving_it,
    ],
)
def test_article_etag_changes_when_anything_on_the_page_changes(client, story, change):
    before = etag_of(client, "/articles/story/")
    change(story)
    assert etag_of(client, "/articles/story/") != before


def test_article_etag_stays_when_nothing_on_the_page_changes(client, story):
    before = etag_of(client, "/articles/story/")
    make_article().tags.add("Economy")
    make_person()
    assert etag_of(client, "/articles/story/") == before


def test_etag_changes_when_a_scheduled_story_goes_live(client, story):
    later = make_article(published_at=timezone.now() + timedelta(hours=1))
    later.tags.add("Russia")
    later.people.add(Person.objects.get(slug="putin"))
    urls = ["/articles/story/", "/tags/russia/", "/people/putin/"]
    before = {url: etag_of(client, url) for url in urls}
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        after = {url: etag_of(client, url) for url in urls}
        last_modified = client.get("/tags/russia/")["Last-Modified"]
    assert all(after[url] != before[url] for url in urls)
    assert last_modified == http_date(later.published_at.timestamp())


@pytest.mark.parametrize(
    "change",
    [
        lambda: Topic.objects.filter(slug="russia").update(description="New words"),
        lambda: make_article().tags.add("Russia"),
        lambda: Article.objects.filter(slug="linked").update(headline="Retitled"),
        lambda: Article.objects.filter(slug="linked").update(status="draft"),
    ],
)
def test_topic_etag_changes_with_the_topic_or_its_stories(client, story, change):
    Article.objects.get(slug="linked").tags.add("Russia")
    before = etag_of(client, "/tags/russia/")
    change()
    assert etag_of(client, "/tags/russia/") != before


def test_person_etag_changes_with_the_person_or_their_stories(client, story):
    before = etag_of(client, "/people/putin/")
    # The page shows the bio: update() reaches it like a save (no auto_now).
    Person.objects.filter(slug="putin").update(bio="A new bio.")
    after_update = etag_of(client, "/people/putin/")
    assert after_update != before
    person = Person.objects.get(slug="putin")
    person.description = "President"
    person.save()
    after_edit = etag_of(client, "/people/putin/")
    assert after_edit != after_update
    make_article().people.add(person)
    assert etag_of(client, "/people/putin/") != after_edit


def test_etags_stay_when_a_save_changes_nothing_a_page_shows(client, story):
    """A no-op save of a story shown as a card, or a body edit of another
    story, leaves a page's ETag (the story's own page moves on any save)."""
    urls = ["/tags/russia/", "/people/putin/"]
    before = {url: etag_of(client, url) for url in urls}
    Article.objects.get(slug="linked").save()  # nothing changed
    story.body = "A rewritten body."
    story.save()
    assert {url: etag_of(client, url) for url in urls} == before
    assert etag_of(client, "/articles/story/") != before.get("/articles/story/")
