import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains
from reversion.models import Version

from articles.history import revision_context
from articles.models import Article, Correction
from articles.views import more_on_this, server_error
from tests.conftest import make_article, make_person, make_related_link
from tests.test_images import make_image, photo_bytes

# What the views do themselves; the page cache in front is tests/test_cache.py's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]

SEED_BODY = (
    "President Vladimir Putin on Tuesday backed a plan to set up joint military "
    "training centres with Belarus.\n\nIn a decree published Tuesday, Putin tasked "
    "the defence and foreign ministers to conduct talks with Belarus.\n\nThe "
    "document did not specify where they would be based."
)


def text_of(response):
    return response.content.decode()


def draft(**fields):
    return make_article(status=Article.Status.DRAFT, published_at=None, **fields)


def scheduled(**fields):
    return make_article(published_at=timezone.now() + timedelta(hours=1), **fields)


@pytest.fixture
def seed_article():
    article = make_article(
        headline="Vladimir Putin backs plan to set up military training centres",
        slug="putin-backs-plan",
        standfirst="In a decree published Tuesday, Vladimir Putin tasked ministers.",
        body=SEED_BODY,
        image_caption="Russian president Vladimir Putin.",
        image_credit="AP",
    )
    article.tags.add("Russia", "Belarus")
    article.people.add(
        make_person(
            name="Vladimir Putin", slug="vladimir-putin", description="President"
        ),
        make_person(name="Alexander Lukashenko", slug="alexander-lukashenko"),
    )
    return article


# Home page


def test_home_leads_with_the_newest_story_then_the_latest(client):
    older = make_article(published_at=timezone.now() - timedelta(days=2))
    newest = make_article(published_at=timezone.now() - timedelta(minutes=1))
    response = client.get("/")
    assert response.context["lead"] == newest
    assert older in response.context["top_stories"] + response.context["stories"]
    html = text_of(response)
    assert html.index(newest.headline) < html.index(older.headline)
    assertContains(response, f'<a href="/articles/{newest.slug}/">')


def test_home_shows_twenty_stories_a_page(client):
    for _ in range(21):
        make_article()
    first = client.get("/")
    second = client.get("/?page=2")
    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 1
    assert second.context["lead"] is None
    assertContains(first, 'rel="next" href="?page=2"')
    assertContains(second, 'rel="prev" href="/"')


# Article page


def test_article_page_shows_every_part_of_the_story(client, seed_article):
    response = client.get("/articles/putin-backs-plan/")
    html = text_of(response)
    assertContains(
        response,
        '<h1 class="headline">Vladimir Putin backs plan to set up military training '
        "centres</h1>",
    )
    assert html.count("<h1") == 1
    assertContains(response, "In a decree published Tuesday, Vladimir Putin tasked")
    assert re.search(
        r'<figure class="story-figure">\s*<figcaption><span class="caption">Russian '
        r'president Vladimir Putin.</span> <span class="credit">Photograph: AP</span>',
        html,
    )
    for paragraph in seed_article.paragraphs():
        assertContains(response, f"<p>{paragraph}</p>")
    published = timezone.localtime(seed_article.published_at).replace(microsecond=0)
    assertContains(response, f'<time datetime="{published.isoformat()}">')
    assertContains(response, "1 min read")
    assertContains(response, '<a href="/tags/russia/">Russia</a>')
    assertContains(response, '<a href="/tags/belarus/">Belarus</a>')
    assertContains(response, '<a href="/people/vladimir-putin/">Vladimir Putin</a>')
    assertContains(response, '<span class="person-role">President</span>')


def test_reading_time_grows_with_the_body(client):
    make_article(slug="long-read", body=" ".join(["word"] * 1000))
    assertContains(client.get("/articles/long-read/"), "5 min read")


def test_updated_time_shows_only_after_a_change_to_the_text(client):
    article = make_article(slug="edited", published_at=timezone.now())
    article.slug, article.image_caption = "edited-again", "A new caption"
    article.save()
    article.tags.add("Russia")
    assertNotContains(client.get("/articles/edited-again/"), "Updated")

    article.body = "New facts."
    article.save()
    article.refresh_from_db()
    response = client.get("/articles/edited-again/")
    updated = timezone.localtime(article.content_updated_at).replace(microsecond=0)
    assertContains(response, f'<span>Updated <time datetime="{updated.isoformat()}">')


def test_figure_is_left_out_without_caption_or_credit(client):
    make_article(slug="no-photo")
    assertNotContains(client.get("/articles/no-photo/"), "<figure")


def test_related_links_go_to_their_target_or_url_or_nowhere(client):
    article = make_article(slug="with-links")
    target = make_article(slug="the-target")
    hidden_target = draft(slug="hidden-target")
    make_related_link(article, title="On this site", summary="Sum one", target=target)
    make_related_link(article, title="Elsewhere", url="https://example.com/story")
    make_related_link(article, title="Just a title")
    make_related_link(article, title="Draft target", target=hidden_target)
    response = client.get("/articles/with-links/")
    html = text_of(response)
    assertContains(response, '<a href="/articles/the-target/">On this site</a>')
    assertContains(response, "<p>Sum one</p>")
    assertContains(response, '<a href="https://example.com/story">Elsewhere</a>')
    assertContains(response, '<h3 class="also-read-title">Just a title</h3>')
    # A link to a story readers cannot open is shown as text, never as a 404.
    assertContains(response, '<h3 class="also-read-title">Draft target</h3>')
    assert "hidden-target" not in html


def test_more_on_this_ranks_stories_sharing_the_most_topics_and_people():
    person = make_person()
    article = make_article()
    article.tags.add("Russia", "Belarus", "Ukraine")
    article.people.add(person)
    best = make_article()
    best.tags.add("Russia", "Belarus")
    best.people.add(person)
    second = make_article()
    second.tags.add("Russia", "Ukraine")
    third = make_article()
    third.people.add(person)
    fourth = make_article(published_at=timezone.now() - timedelta(days=30))
    fourth.tags.add("Belarus")
    fifth = make_article(published_at=timezone.now() - timedelta(days=40))
    fifth.tags.add("Ukraine")
    unrelated = make_article()
    unrelated.tags.add("Economy")
    hidden = draft()
    hidden.tags.add("Russia", "Belarus", "Ukraine")
    future = scheduled()
    future.tags.add("Russia", "Belarus", "Ukraine")

    assert more_on_this(article) == [best, second, third, fourth]


def test_more_on_this_is_empty_for_a_story_without_topics_or_people(client):
    make_article(slug="alone")
    make_article()
    response = client.get("/articles/alone/")
    assert response.context["more_on_this"] == []
    assertNotContains(response, "More on this story")


# Topic and person pages


def test_topic_index_counts_published_stories_only(client):
    make_article().tags.add("Russia")
    make_article().tags.add("Russia")
    draft().tags.add("Russia", "Secret plans")
    response = client.get("/tags/")
    assertContains(response, '<a href="/tags/russia/">Russia</a>')
    assertContains(response, "2 stories")
    assertNotContains(response, "Secret plans")


def test_topic_page_shows_description_and_its_stories(client):
    article = make_article()
    article.tags.add("Russia")
    other = make_article()
    other.tags.add("Economy")
    topic = article.tags.get()
    topic.description = "All our coverage of Russia."
    topic.save()
    response = client.get("/tags/russia/")
    assertContains(response, "<p>All our coverage of Russia.</p>")
    assertContains(response, article.headline)
    assertNotContains(response, other.headline)


def test_people_index_lists_everyone_with_published_stories(client):
    seen = make_person(name="Seen Person")
    unseen = make_person(name="Only In Drafts")
    make_article().people.add(seen)
    draft().people.add(unseen)
    response = client.get("/people/")
    assertContains(response, f'<a href="/people/{seen.slug}/">Seen Person</a>')
    assertContains(response, "1 story")
    assertNotContains(response, "Only In Drafts")


def test_person_page_shows_description_bio_and_stories(client):
    person = make_person(
        slug="xi-jinping", description="President of China", bio="Born in 1953."
    )
    article = make_article()
    article.people.add(person)
    response = client.get("/people/xi-jinping/")
    assertContains(response, "President of China")
    assertContains(response, "<p>Born in 1953.</p>")
    assertContains(response, article.headline)


def test_topic_and_person_pages_paginate_by_twenty(client):
    person = make_person(slug="busy")
    for _ in range(21):
        article = make_article()
        article.tags.add("Busy")
        article.people.add(person)
    for url in ("/tags/busy/", "/people/busy/"):
        assert len(client.get(url).context["page"].object_list) == 20
        assert len(client.get(f"{url}?page=2").context["page"].object_list) == 1


# Drafts and scheduled stories


@pytest.mark.parametrize("make_hidden", [draft, scheduled])
def test_anonymous_reader_gets_404_for_draft_and_future_article(client, make_hidden):
    make_hidden(slug="not-yet")
    assert client.get("/articles/not-yet/").status_code == 404


@pytest.mark.parametrize("make_hidden", [draft, scheduled])
def test_hidden_stories_are_missing_from_every_list(client, make_hidden):
    person = make_person(slug="someone")
    live = make_article()
    live.tags.add("Russia")
    live.people.add(person)
    hidden = make_hidden(headline="Hidden headline")
    hidden.tags.add("Russia")
    hidden.people.add(person)
    for url in ("/", "/tags/russia/", "/people/someone/", live.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 200
        assertNotContains(response, "Hidden headline")


def test_topic_and_person_with_only_drafts_are_404_for_readers(client):
    person = make_person(slug="secret-person")
    hidden = draft()
    hidden.tags.add("Secret topic")
    hidden.people.add(person)
    assert client.get("/tags/secret-topic/").status_code == 404
    assert client.get("/people/secret-person/").status_code == 404


@pytest.mark.parametrize("make_hidden", [draft, scheduled])
def test_editor_previews_draft_with_banner_and_no_caching(editor_client, make_hidden):
    make_hidden(slug="in-progress", headline="Work in progress")
    response = editor_client.get("/articles/in-progress/")
    assert response.status_code == 200
    assertContains(response, "Work in progress")
    assertContains(response, "Draft preview.")
    assertContains(response, '<meta name="robots" content="noindex">')
    cache_control = response["Cache-Control"]
    assert "private" in cache_control
    assert "no-store" in cache_control
    assert not response.has_header("ETag")
    assert not response.has_header("Last-Modified")


def test_editor_previews_topic_with_only_drafts_uncached(editor_client):
    draft().tags.add("Upcoming")
    response = editor_client.get("/tags/upcoming/")
    assert response.status_code == 200
    assertContains(response, "Draft preview.")
    assert "no-store" in response["Cache-Control"]


def test_published_article_has_no_banner_for_editors_either(editor_client):
    make_article(slug="live")
    response = editor_client.get("/articles/live/")
    assertNotContains(response, "Draft preview")
    assert "no-store" not in response.get("Cache-Control", "")


def test_staff_without_article_permission_cannot_preview(client):
    clerk = User.objects.create_user("clerk", password="pw-clerk-1", is_staff=True)
    client.force_login(clerk)
    draft(slug="private-draft")
    assert client.get("/articles/private-draft/").status_code == 404


# Text is text


def test_scraped_markup_is_shown_as_characters(client):
    person = make_person(name="<b>Bold</b> & Co", slug="bold-co")
    article = make_article(
        slug="hostile",
        headline="<script>alert('headline')</script> & <b>bold</b>",
        standfirst='Standfirst with <img src=x onerror="alert(1)"> & more',
        body="A <b>body</b> & a <script>alert(2)</script>\n\nSecond <i>para</i>",
        image_caption="<em>caption</em>",
        image_credit="A&P",
    )
    article.people.add(person)
    article.tags.add("<Tag>")
    make_related_link(
        article, title="<b>link</b>", summary="<script>x</script>", url="https://a.b/"
    )
    html = text_of(client.get("/articles/hostile/"))
    for raw in ("<b>", "<script>alert", "<img src=x", "<em>", "<i>", "<Tag>"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#x27;headline&#x27;)&lt;/script&gt; &amp; " in html
    # A body is HTML now (issue 18): tags outside the allowlist are removed on
    # save, scripts with their content; a scraped file's body is escaped by the
    # importer instead (tests/test_importer.py).
    assert "<p>A body &amp; a </p>" in html
    assert "alert(2)" not in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in html
    assert "A&amp;P" in html


# Pagination


@pytest.mark.parametrize("page", ["abc", "0", "99999", "-1", "1.5", "", "01", " 2"])
@pytest.mark.parametrize("url", ["/", "/tags/russia/", "/people/someone/"])
def test_page_that_is_not_a_number_in_range_is_404(client, url, page):
    article = make_article()
    article.tags.add("Russia")
    article.people.add(make_person(slug="someone"))
    response = client.get(url, {"page": page})
    assert response.status_code == 404
    assert not response.has_header("ETag")


# Query counts (every story with a photo: no query per picture)


@pytest.fixture
def photo(db):
    return make_image(photo_bytes(400, 300), caption="A photo", credit="Agency")


def give_every_story(photo):
    Article.objects.update(lead_image=photo)


def article_with(count):
    article = make_article(slug=f"article-with-{count}")
    article.tags.add(*[f"Topic {number}" for number in range(count)])
    article.people.add(*[make_person() for _ in range(count)])
    for _ in range(count):
        target = make_article()
        target.tags.add("Topic 0")
        make_related_link(article, target=target, summary="More.")
    return article


def add_corrections_and_revisions(article, corrections, revisions):
    for number in range(corrections):
        article.corrections.create(
            kind=Correction.Kind.CLARIFICATION if number % 2 else "correction",
            text=f"Correction number {number}.",
        )
    for number in range(revisions):
        with revision_context(comment=f"Edit {number}"):
            article.body = f"Version {number} of the body."
            article.save()
    assert Version.objects.get_for_object(article).count() == revisions


@pytest.mark.parametrize(
    ("count", "corrections", "revisions", "queries"),
    [(1, 0, 0, 5), (30, 10, 50, 5)],
)
def test_article_page_runs_five_queries_at_most_whatever_it_holds(
    client, django_assert_num_queries, count, corrections, revisions, queries, photo
):
    article = article_with(count)
    add_corrections_and_revisions(article, corrections, revisions)
    give_every_story(photo)
    # Made from nothing: 1 article (with the site row the page cache needs),
    # 1 for its topics, people, links and corrections, 1 "More on this", 1
    # for the bylines of the story and of its cards, 1 for the versions of
    # what the page shows. Revisions are never read here.
    with django_assert_num_queries(queries):
        response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert len(response.context["article"].related_links.all()) == count
    assert response.content.decode().count('class="correction correction-') == (
        corrections
    )
    assert response.context["more_on_this"]
    # The lead photo and a card photo for each story in "More on this".
    assert response.content.decode().count("<picture>") == 1 + len(
        response.context["more_on_this"]
    )


@pytest.mark.parametrize("count", [1, 40])
def test_home_page_runs_six_queries_whatever_the_page_size(
    client, django_assert_num_queries, count, photo
):
    for _ in range(count):
        make_article().tags.add("Russia", "Belarus")
    give_every_story(photo)
    # front-page places, count, page of stories (with their photos), their
    # topics, their bylines; the versions of the keys it shows (validators)
    with django_assert_num_queries(6):
        response = client.get("/")
    assert response.status_code == 200
    assert response.content.decode().count("<picture>") == min(count, 20)


@pytest.mark.parametrize("count", [1, 40])
def test_topic_and_person_pages_run_five_queries_whatever_the_page_size(
    client, django_assert_num_queries, count, photo
):
    person = make_person(slug="often-seen")
    for _ in range(count):
        article = make_article()
        article.tags.add("Russia", "Belarus")
        article.people.add(person)
    give_every_story(photo)
    # subject, count, page of stories (with their photos), bylines; the
    # versions of the keys it shows (validators)
    for url in ("/tags/russia/", "/people/often-seen/"):
        with django_assert_num_queries(5):
            response = client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count("<picture>") == min(count, 20)


@pytest.mark.parametrize("count", [1, 40])
def test_index_pages_run_two_queries(client, django_assert_num_queries, count):
    for number in range(count):
        article = make_article()
        article.tags.add(f"Topic {number}")
        article.people.add(make_person())
    # the index; the versions of its key (validators)
    for url in ("/tags/", "/people/"):
        with django_assert_num_queries(2):
            assert client.get(url).status_code == 200


# Error pages


def test_404_page_is_styled_and_shows_no_traceback(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assertContains(
        response, '<h1 class="page-title">Page not found</h1>', status_code=404
    )
    assertContains(response, "/static/css/site.css", status_code=404)
    assertNotContains(response, "Traceback", status_code=404)


def test_favicon_address_redirects_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.ico"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.urls("tests.failing_urls")
def test_500_page_is_styled_and_shows_no_traceback(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/explode/")
    assert response.status_code == 500
    html = text_of(response)
    assert '<h1 class="page-title">Something went wrong</h1>' in html
    assert "/static/css/site.css" in html
    assert "a bug in a view" not in html
    assert "Traceback" not in html


@pytest.mark.django_db(databases=[])
def test_500_page_renders_without_the_database(rf):
    # No database access is allowed in this test: any query would raise.
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
