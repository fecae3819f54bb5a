"""An editor publishes a story through the admin; a reader sees it appear."""

import re

from playwright.sync_api import expect

from articles.models import Article, Topic
from tests.browser.checks import watch_for_problems
from tests.test_images import make_image, photo_bytes

HEADLINE = "Harbour bridge reopens after repairs"
SLUG = "harbour-bridge-reopens-after-repairs"
STANDFIRST = "Traffic flows again after eight months of work on the span."
BODY = "Engineers replaced every cable.\n\nThe first bus crossed at dawn."
CAPTION = "The first bus crosses the reopened bridge."
CREDIT = "Photo: Jo Bloggs"
TOPICS = {"Transport": "transport", "City council": "city-council"}
PERSON = ("Ada Lovelace", "ada-lovelace")
PHOTO_CAPTION = "The bridge at dawn"
PHOTO_ALT = "A bus crossing a suspension bridge"
LINKS = [
    ("Bridge closed for repairs", "https://example.org/bridge-closed"),
    ("How the cables were replaced", "https://example.org/cables"),
]
# Milliseconds to wait for something on a reader page: it is rendered on the
# server and already loaded, so a missing element will not turn up later.
LOADED = 500


def log_in(page, user, password):
    page.goto("/admin/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Editorial desk")).to_be_visible()


def assert_reader_sees_figure_topics_person_and_links(reader):
    caption = reader.locator("figure figcaption")
    expect(caption).to_contain_text(CAPTION, timeout=LOADED)
    expect(caption).to_contain_text(CREDIT, timeout=LOADED)
    for name, slug in TOPICS.items():
        link = reader.locator(f'a[href$="/tags/{slug}/"]').first
        expect(link).to_have_text(name, timeout=LOADED)
    name, slug = PERSON
    link = reader.locator(f'a[href$="/people/{slug}/"]').first
    expect(link).to_have_text(name, timeout=LOADED)
    heading = reader.get_by_role("heading", name="Also read")
    section = reader.locator("section, aside, nav").filter(has=heading)
    for title, url in LINKS:
        expect(section.get_by_role("link", name=title)).to_have_attribute(
            "href", url, timeout=LOADED
        )


def test_editor_publishes_a_story_a_reader_then_sees(page, reader, editor, screenshot):
    assert not editor.is_superuser
    Topic.objects.create(name=list(TOPICS)[0])
    photo = make_image(
        photo_bytes(1200, 800), caption=PHOTO_CAPTION, alt_text=PHOTO_ALT
    )
    make_image(photo_bytes(800, 600), caption="A cat on a wall")
    problems = watch_for_problems(page)
    reader_problems = watch_for_problems(reader)

    log_in(page, editor, "pw-editor-1")
    screenshot("editorial-desk")

    # A person, through the admin; the slug fills itself in from the name.
    page.get_by_role("link", name="People").click()
    page.get_by_role("link", name="Add person").click()
    page.get_by_label("Name").press_sequentially(PERSON[0])
    expect(page.get_by_label("Slug")).to_have_value(PERSON[1])
    page.get_by_label("Description").fill("Mathematician and engineer")
    screenshot("person-form")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added")

    # The article, as a draft.
    page.goto("/admin/")
    page.get_by_role("link", name="Articles").click()
    page.get_by_role("link", name="Add article").click()
    page.get_by_label("Headline").press_sequentially(HEADLINE)
    expect(page.get_by_label("Slug")).to_have_value(SLUG)
    page.get_by_label("Standfirst").fill(STANDFIRST)
    page.get_by_label("Body").fill(BODY)
    page.get_by_label("Image caption").fill(CAPTION)
    page.get_by_label("Image credit").fill(CREDIT)
    expect(page.get_by_label("Status")).to_have_value("draft")

    # Topics are chosen, never typed: the stored one through the autocomplete,
    # the new one through the "+" popup, which only editors who may add
    # topics get.
    existing, new = list(TOPICS)
    topics = page.locator("#id_tags + .select2")
    topics.click()
    topics.locator(".select2-search__field").press_sequentially(existing[:5])
    page.get_by_role("option", name=existing).click()
    with page.expect_popup() as popup_opened:
        page.locator("#add_id_tags").click()
    topic_form = popup_opened.value
    topic_form.get_by_label("Name").press_sequentially(new)
    with topic_form.expect_event("close"):
        topic_form.get_by_role("button", name="Save", exact=True).click()
    expect(topics.locator(".select2-selection__choice")).to_have_count(2)
    expect(topics).to_contain_text(new)
    # A typo finds nothing to choose, so it cannot become a topic.
    topics.click()
    topics.locator(".select2-search__field").press_sequentially("Transprot")
    expect(page.locator(".select2-results__message")).to_have_text("No results found")
    topics.locator(".select2-search__field").press("Escape")

    # The lead image, from the picker's thumbnails in a popup.
    with page.expect_popup() as popup_opened:
        page.get_by_role("link", name="Browse the photo library").click()
    picker = popup_opened.value
    picker.get_by_label("Search captions, credits and alt text").fill("bridge")
    picker.get_by_role("button", name="Search").click()
    screenshot("photo-picker", picker)
    with picker.expect_event("close"):
        picker.get_by_role("button", name=f"Choose {PHOTO_CAPTION}").click()
    expect(page.locator("#id_lead_image + .select2")).to_contain_text(PHOTO_CAPTION)
    expect(page.locator(".lead-image-thumbnail")).to_have_attribute(
        "src", re.compile(r"/media/images/renditions/")
    )

    # The person, through the select2 autocomplete: type, pick from the list.
    people = page.locator("#id_people + .select2")
    people.click()
    people.locator(".select2-search__field").press_sequentially("Lov")
    page.get_by_role("option", name=PERSON[0]).click()
    expect(people.locator(".select2-selection__choice")).to_contain_text(PERSON[0])

    # Two related links, through the inline's "Add another" link.
    add_link = page.get_by_role(
        "button", name=re.compile("add another related link", re.I)
    )
    for number, (title, url) in enumerate(LINKS):
        add_link.click()
        page.locator(f'[name="related_links-{number}-position"]').fill(str(number + 1))
        page.locator(f'[name="related_links-{number}-title"]').fill(title)
        page.locator(f'[name="related_links-{number}-url"]').fill(url)
    screenshot("article-form")

    # Preview, in a new tab, before anything is saved.
    with page.expect_popup() as preview_opened:
        page.get_by_role("button", name="Preview").click()
    preview = preview_opened.value
    expect(preview.get_by_role("heading", level=1)).to_have_text(HEADLINE)
    expect(preview.get_by_role("status")).to_contain_text("Preview of unsaved changes.")
    expect(preview.locator("figure img")).to_have_attribute("alt", PHOTO_ALT)
    screenshot("preview", preview)
    preview.close()
    assert not Article.objects.exists()

    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added")
    screenshot("saved-as-draft")

    article = Article.objects.get(slug=SLUG)
    assert article.status == Article.Status.DRAFT
    assert (article.standfirst, article.image_caption, article.image_credit) == (
        STANDFIRST,
        CAPTION,
        CREDIT,
    )
    assert article.paragraphs() == BODY.split("\n\n")
    assert sorted(article.tags.names()) == sorted(TOPICS)
    assert [person.name for person in article.people.all()] == [PERSON[0]]
    assert [(link.title, link.url) for link in article.related_links.all()] == LINKS
    assert article.lead_image == photo

    # A reader cannot see the draft.
    response = reader.goto(article.get_absolute_url())
    assert response.status == 404
    screenshot("reader-gets-404", reader)

    # The editor publishes it with the list action; deleting is not on offer.
    actions = page.locator('select[name="action"]')
    expect(actions.locator("option")).to_contain_text(["Publish selected articles"])
    expect(actions.locator("option", has_text="Delete")).to_have_count(0)
    page.get_by_label(f"Select this object for an action - {HEADLINE}").check()
    actions.select_option(label="Publish selected articles")
    page.get_by_role("button", name="Go").click()
    page.get_by_role("button", name="Yes, go ahead").click()
    expect(page.locator(".messagelist .success")).to_have_text(
        re.compile(r"^Published 1 ")
    )
    row = page.get_by_role("row").filter(has_text=HEADLINE)
    expect(row.locator(".field-published img")).to_have_attribute("alt", "True")
    screenshot("published")

    # The reader now sees the story.
    response = reader.goto(article.get_absolute_url())
    assert response.status == 200
    expect(reader.get_by_role("heading", level=1)).to_have_text(HEADLINE)
    expect(reader.get_by_text(STANDFIRST)).to_be_visible()
    for paragraph in BODY.split("\n\n"):
        expect(reader.get_by_text(paragraph)).to_be_visible()
    assert_reader_sees_figure_topics_person_and_links(reader)
    screenshot("reader-sees-story", reader)

    # "View on site" from the change page opens the story; there is no Delete.
    row.get_by_role("link", name=HEADLINE).click()
    expect(page).to_have_title(re.compile(r"\| Change article \|"))
    expect(page.get_by_role("button", name="Save", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    page.get_by_role("link", name="View on site").click()
    expect(page).to_have_url(re.compile(re.escape(article.get_absolute_url()) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADLINE)
    screenshot("view-on-site")

    problems.assert_none()
    reader_problems.assert_none()
