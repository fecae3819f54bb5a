"""The front page editors choose (articles/frontpage.py), through the admin screen,
with the page cache on: what readers see, when a place ends, and what it costs."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from articles.frontpage import FrontPageSlot
from articles.models import Article
from articles.scheduling import next_change_at
from tests.conftest import credit, make_article, make_author
from tests.html_forms import form_data
from tests.test_images import make_image, photo_bytes

pytestmark = pytest.mark.django_db

SCREEN = "/admin/articles/frontpageslot/"


@pytest.fixture
def reader():
    """An anonymous reader: no session cookie, so the page cache serves them."""
    return Client()


def local_time(moment):
    """What a datetime-local input sends: local time, no zone."""
    return timezone.localtime(moment).replace(tzinfo=None).isoformat()


def save_front_page(client, **places):
    """Fill the screen's form as an editor would: place -> article or
    (article, until); places not given keep what the form shows."""
    data = form_data(client.get(SCREEN).content.decode(), "front-page-form")
    for place, value in places.items():
        number = FrontPageSlot.Place[place.upper()].value
        article, until = value if isinstance(value, tuple) else (value, None)
        data[f"article_{number}"] = [str(article.pk) if article else ""]
        data[f"until_{number}"] = [local_time(until) if until else ""]
    return client.post(SCREEN, data)


def front(response):
    context = response.context
    return context["lead"], list(context["top_stories"])


@pytest.fixture
def stories():
    """Five published stories, newest first."""
    now = timezone.now()
    return [
        make_article(headline=f"Story {n}", published_at=now - timedelta(hours=n))
        for n in range(1, 6)
    ]


def lead_headline(reader):
    html = reader.get("/").content.decode()
    start = html.index('class="lead-headline"')
    return html[start : html.index("</h2>", start)]


def test_editor_puts_a_story_in_the_lead_until_a_time_then_it_falls_back(
    editor_client, reader, stories
):
    newest, older = stories[0], stories[3]
    assert "Story 1" in lead_headline(reader)  # now cached
    until = timezone.now().replace(microsecond=0) + timedelta(hours=2)
    response = save_front_page(editor_client, lead=(older, until))
    assert response.status_code == 302, response.context["form"].errors
    assert FrontPageSlot.objects.get().until == until

    assert "Story 4" in lead_headline(reader)
    html = reader.get("/").content.decode()
    assert reader.get("/")["X-Cache"] == "HIT"
    assert html.count("Story 4</a>") == 1  # not also under "More news"

    with time_machine.travel(until - timedelta(seconds=1), tick=False):
        assert "Story 4" in lead_headline(reader)
    with time_machine.travel(until, tick=False):
        response = reader.get("/")
        assert response["X-Cache"] == "MISS"
        assert "Story 1" in lead_headline(reader)
        assert response.context["lead"] == newest


def test_cached_home_page_lifetimes_end_when_a_place_expires(
    editor_client, reader, stories
):
    until = timezone.now().replace(microsecond=0) + timedelta(seconds=45)
    save_front_page(editor_client, lead=(stories[2], until))
    with time_machine.travel(until - timedelta(seconds=20), tick=False):
        cache_control = reader.get("/")["Cache-Control"]
    assert "s-maxage=20" in cache_control
    assert "max-age=20" in cache_control
    assert next_change_at() == until


def test_unpublishing_the_lead_story_takes_it_off_the_front_page_at_once(
    editor_client, reader, stories
):
    lead = stories[4]
    save_front_page(editor_client, lead=lead)
    assert "Story 5" in lead_headline(reader)
    editor_client.post(
        reverse("admin:articles_article_changelist"),
        {"action": "unpublish", "_selected_action": lead.pk, "confirm": "yes"},
    )
    response = reader.get("/")
    assert "Story 5" not in response.content.decode()
    assert "Story 1" in lead_headline(reader)
    # The place is kept: published again, the story is back in it.
    assertContains(editor_client.get(SCREEN), "is not published")


def test_top_stories_keep_their_order_and_empty_places_take_the_newest(
    editor_client, reader, stories, without_page_cache
):
    one, two, three, four, five = stories
    response = save_front_page(editor_client, top_1=five, top_3=three)
    assert response.status_code == 302
    lead, top = front(reader.get("/"))
    # Lead and top story 2 were left empty: the newest others fill them.
    assert (lead, top) == (one, [five, two, three])
    assert four in reader.get("/").context["stories"]


def test_scheduled_story_takes_its_place_when_it_goes_live(
    editor_client, reader, stories
):
    at = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    scheduled = make_article(headline="Embargoed", published_at=at)
    save_front_page(editor_client, lead=scheduled)
    assert "Embargoed" not in reader.get("/").content.decode()
    with time_machine.travel(at, tick=False):
        assert "Embargoed" in lead_headline(reader)


def test_a_story_cannot_take_two_places_nor_end_in_the_past(editor_client, stories):
    response = save_front_page(
        editor_client,
        lead=stories[0],
        top_1=(stories[0], timezone.now() - timedelta(hours=1)),
    )
    assert response.status_code == 200
    assertContains(response, "is already the lead story")
    assertContains(response, "That time has passed")
    assert not FrontPageSlot.objects.exists()


def test_saving_swaps_places_and_clears_emptied_ones(editor_client, stories):
    save_front_page(editor_client, lead=stories[0], top_1=stories[1])
    response = save_front_page(
        editor_client, lead=stories[1], top_1=stories[0], top_2=None
    )
    assert response.status_code == 302
    assert dict(FrontPageSlot.objects.values_list("place", "article")) == {
        0: stories[1].pk,
        1: stories[0].pk,
    }
    save_front_page(editor_client, lead=None, top_1=None)
    assert not FrontPageSlot.objects.exists()


def test_front_page_screen_is_on_the_admin_start_page(editor_client):
    assertContains(editor_client.get("/admin/"), f'href="{SCREEN}"')


def test_staff_who_may_only_view_cannot_change_the_front_page(client, stories):
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_frontpageslot"))
    client.force_login(clerk)
    assert client.get(SCREEN).status_code == 200
    response = client.post(SCREEN, {"article_0": stories[0].pk})
    assert response.status_code == 403
    assert not FrontPageSlot.objects.exists()
    clerk.user_permissions.clear()
    assert client.get(SCREEN).status_code == 403


def test_page_two_does_not_repeat_the_curated_stories(editor_client, reader):
    old = [
        make_article(published_at=timezone.now() - timedelta(days=n))
        for n in range(1, 26)
    ]
    oldest = old[-1]
    save_front_page(editor_client, lead=oldest)
    first, second = reader.get("/"), reader.get("/?page=2")
    assert first.context["lead"] == oldest
    assert oldest not in second.context["stories"]
    shown = [first.context["lead"], *first.context["top_stories"]]
    shown += first.context["stories"] + second.context["stories"]
    assert sorted(story.pk for story in shown) == sorted(story.pk for story in old)


@pytest.mark.usefixtures("without_page_cache")
@pytest.mark.parametrize("places", [1, 4])
def test_home_page_with_a_curated_front_runs_six_queries(
    editor_client, reader, django_assert_num_queries, places
):
    photo = make_image(photo_bytes(400, 300))
    stories = []
    for number in range(30):
        story = make_article(lead_image=photo)
        story.tags.add("Russia", f"Topic {number}")
        credit(story, make_author(), make_author())
        stories.append(story)
    chosen = dict(
        zip(
            ["lead", "top_1", "top_2", "top_3"][:places], stories[-places:], strict=True
        )
    )
    assert save_front_page(editor_client, **chosen).status_code == 302
    # places, count, page, topics, bylines; the versions of the keys it shows
    with django_assert_num_queries(6):
        response = reader.get("/")
    lead, top = front(response)
    assert [lead, *top][:places] == stories[-places:]
    html = response.content.decode()
    assert html.count("<picture>") == 20 + places
    assert html.count('class="card-byline"') == 20 + places - 1


def test_next_change_is_the_sooner_of_a_publication_and_an_expiry(stories):
    now = timezone.now()
    assert next_change_at() is None
    publication = make_article(published_at=now + timedelta(hours=3)).published_at
    assert next_change_at() == publication
    FrontPageSlot.objects.create(
        place=0, article=stories[0], until=now + timedelta(hours=1)
    )
    assert next_change_at() == now + timedelta(hours=1)
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        assert next_change_at() == publication


def test_draft_in_a_place_is_not_shown(editor_client, reader, stories):
    draft = make_article(
        headline="Unfinished", status=Article.Status.DRAFT, published_at=None
    )
    assert save_front_page(editor_client, lead=draft).status_code == 302
    assert "Unfinished" not in reader.get("/").content.decode()


def test_screen_shows_what_readers_see_now(editor_client, stories):
    response = editor_client.get(SCREEN)
    assert [row[1] for row in response.context["showing"]] == stories[:4]
    save_front_page(editor_client, top_2=stories[4])
    showing = editor_client.get(SCREEN).context["showing"]
    assert [(label, story, chosen) for label, story, chosen in showing] == [
        ("Lead story", stories[0], False),
        ("Top story 1", stories[1], False),
        ("Top story 2", stories[4], True),
        ("Top story 3", stories[2], False),
    ]
    assertContains(
        editor_client.get(SCREEN),
        f'<a href="/articles/{stories[4].slug}/">Story 5</a></td><td>an editor</td>',
    )


def test_screen_of_an_empty_site_says_nothing_is_published(editor_client):
    assertContains(editor_client.get(SCREEN), "No story is published yet.")
