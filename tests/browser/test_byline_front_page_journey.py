"""An editor credits a story to an author and puts it in the front page's lead;
a reader sees the byline, the author's page and the new lead."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from articles.frontpage import FrontPageSlot
from tests.browser.checks import watch_for_problems
from tests.browser.test_editor_journey import log_in
from tests.conftest import make_article, make_author

LOADED = 500  # ms: reader pages are rendered on the server, already loaded


def test_editor_credits_a_story_and_leads_the_front_page_with_it(
    page, reader, editor, screenshot
):
    problems = watch_for_problems(page)
    reader_problems = watch_for_problems(reader)
    newest = make_article(headline="Newest story of the day")
    story = make_article(
        headline="Engine computes Bernoulli numbers",
        slug="engine",
        published_at=timezone.now() - timedelta(days=1),
    )
    make_author(name="Charles Babbage", slug="charles-babbage")
    # Read outside the browser, whose own cache may keep a page for max-age.
    assert Client().get("/").context["lead"] == newest

    log_in(page, editor, "pw-editor-1")

    # An author, through the admin; the slug fills itself in from the name.
    page.get_by_role("link", name="Authors").click()
    page.get_by_role("link", name="Add author").click()
    page.get_by_label("Name").press_sequentially("Ada Lovelace")
    expect(page.get_by_label("Slug")).to_have_value("ada-lovelace")
    page.get_by_label("Job title").fill("Science correspondent")
    page.get_by_label("Website").fill("https://ada.example.org/")
    screenshot("author-form")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added")

    # The byline: two authors, ordered by their numbers.
    page.goto(f"/admin/articles/article/{story.pk}/change/")
    page.locator('[name="bylines-0-author"]').select_option(label="Charles Babbage")
    page.locator('[name="bylines-0-position"]').fill("2")
    page.locator('[name="bylines-1-author"]').select_option(label="Ada Lovelace")
    page.locator('[name="bylines-1-position"]').fill("1")
    screenshot("byline-inline")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed")

    reader.goto("/articles/engine/")
    byline = reader.locator(".story-header .byline")
    expect(byline).to_have_text("By Ada Lovelace and Charles Babbage", timeout=LOADED)
    byline.get_by_role("link", name="Ada Lovelace").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Ada Lovelace")
    expect(reader.get_by_role("link", name=story.headline)).to_be_visible()
    screenshot("author-page", reader)

    # The front page: the story in the lead, through the story autocomplete.
    page.goto("/admin/")
    page.get_by_role("link", name="Front page").click()
    lead = page.locator("#id_article_0 + .select2")
    lead.click()
    page.locator(".select2-search__field").press_sequentially("Bernoulli")
    page.get_by_role("option", name=story.headline).click()
    until = timezone.localtime() + timedelta(hours=2)
    page.locator('[name="until_0"]').fill(until.strftime("%Y-%m-%dT%H:%M"))
    screenshot("front-page-screen")
    page.get_by_role("button", name="Save the front page").click()
    expect(page.locator(".messagelist .success")).to_contain_text("readers see it now")
    slot = FrontPageSlot.objects.get()
    assert (slot.place, slot.article) == (FrontPageSlot.Place.LEAD, story)

    reader.goto("/")
    expect(reader.locator(".lead-headline")).to_have_text(story.headline)
    expect(reader.locator(".lead-story .byline")).to_have_text(
        "By Ada Lovelace and Charles Babbage"
    )
    screenshot("reader-front-page", reader)

    problems.assert_none()
    reader_problems.assert_none()
