"""An editor writes a rich story in the body editor; a reader sees every part."""

import pytest
from playwright.sync_api import expect

from articles.models import Article
from tests.browser.checks import assert_no_axe_violations, watch_for_problems
from tests.browser.test_accessibility import COLOUR_SCHEMES
from tests.browser.test_editor_journey import LOADED, log_in
from tests.conftest import make_article
from tests.test_images import make_image, photo_bytes

HEADLINE = "Flood barrier holds as river peaks"
SLUG = "flood-barrier-holds-as-river-peaks"
OPENING = "The river rose two metres overnight."
SUBHEADING = "What the engineers saw"
LINK_TEXT = "the agency's report"
LINK_URL = "https://example.org/flood-report"
QUOTE = "It held exactly as designed."
BULLETS = ["Roads reopened", "Schools stay shut"]
ALT = "Water against the grey barrier wall"


@pytest.fixture
def axe_page(new_context):
    # axe is injected as an inline script: only this context bypasses the CSP.
    return new_context(bypass_csp=True).new_page()


def check_with_axe(axe_page, screenshot, name, within=None):
    for scheme in COLOUR_SCHEMES:
        axe_page.emulate_media(color_scheme=scheme)
        screenshot(f"{name}-{scheme}", axe_page)
    assert_no_axe_violations(axe_page, color_schemes=COLOUR_SCHEMES, within=within)


def test_editor_writes_a_rich_story_that_a_reader_sees(
    page, reader, axe_page, editor, screenshot
):
    earlier = make_article(
        headline="Barrier built after the last flood", slug="barrier-built"
    )
    photo = make_image(photo_bytes(1200, 800), alt_text=ALT, caption="The barrier")
    problems = watch_for_problems(page)
    reader_problems = watch_for_problems(reader)
    log_in(page, editor, "pw-editor-1")

    page.goto("/admin/articles/article/add/")
    page.get_by_label("Headline").press_sequentially(HEADLINE)
    body = page.get_by_role("textbox", name="Body")
    toolbar = page.get_by_role("toolbar", name="Body formatting")

    body.click()
    body.press_sequentially(OPENING)
    body.press("Enter")
    toolbar.get_by_role("button", name="Heading 2").click()
    body.press_sequentially(SUBHEADING)
    body.press("Enter")

    # A web link over words already typed.
    body.press_sequentially(f"Read {LINK_TEXT}")
    for _ in LINK_TEXT:
        body.press("Shift+ArrowLeft")
    toolbar.get_by_role("button", name="Link", exact=True).click()
    dialog = page.get_by_role("dialog", name="Link to a web page")
    dialog.get_by_label("Web address").fill(LINK_URL)
    dialog.get_by_role("button", name="Apply").click()
    body.press("End")
    body.press_sequentially(". Earlier: ")

    # A story link, chosen from the stories' autocomplete.
    toolbar.get_by_role("button", name="Story link").click()
    dialog = page.get_by_role("dialog", name="Link to a story")
    dialog.get_by_label("Search stories by headline").press_sequentially("Barrier")
    dialog.get_by_role("button", name=earlier.headline).click()
    body.press("Enter")

    toolbar.get_by_role("button", name="Quote").click()
    body.press_sequentially(QUOTE)
    body.press("Enter")  # a new paragraph, which the button lifts out again
    toolbar.get_by_role("button", name="Quote").click()
    toolbar.get_by_role("button", name="Bulleted list").click()
    body.press_sequentially(BULLETS[0])
    body.press("Enter")
    body.press_sequentially(BULLETS[1])
    body.press("Enter")
    body.press("Enter")

    # A photo from the library.
    toolbar.get_by_role("button", name="Photo").click()
    dialog = page.get_by_role("dialog", name="Put a photo in the story")
    dialog.get_by_label("Search photos").press_sequentially("barrier")
    dialog.get_by_role("button", name="The barrier").click()
    expect(body.locator("figure")).to_contain_text("The barrier")
    screenshot("rich-body-in-editor")

    page.get_by_label("Status").select_option("published")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist .success")).to_contain_text("was added")

    article = Article.objects.get(slug=SLUG)
    assert article.is_published
    assert f"<h2>{SUBHEADING}</h2>" in article.body
    assert f'<a href="{LINK_URL}">{LINK_TEXT}</a>' in article.body
    assert f'<a data-story="{earlier.pk}">{earlier.headline}</a>' in article.body
    assert f"<blockquote><p>{QUOTE}</p></blockquote>" in article.body
    assert f'<figure data-image="{photo.pk}"></figure>' in article.body
    # The change form opens the stored body in the editor again.
    reopened = page.get_by_role("textbox", name="Body")
    expect(reopened.locator("h2")).to_have_text(SUBHEADING)
    expect(reopened.locator("figure")).to_contain_text("The barrier")

    reader.goto(article.get_absolute_url())
    story = reader.locator(".story-body")
    expect(story.locator("p").first).to_have_text(OPENING, timeout=LOADED)
    expect(story.get_by_role("heading", level=2)).to_have_text(SUBHEADING)
    expect(story.get_by_role("link", name=LINK_TEXT)).to_have_attribute(
        "href", LINK_URL
    )
    expect(story.get_by_role("link", name=earlier.headline)).to_have_attribute(
        "href", earlier.get_absolute_url()
    )
    expect(story.locator("blockquote")).to_have_text(QUOTE)
    expect(story.locator("ul li")).to_have_text(BULLETS)
    photo_element = story.get_by_role("img", name=ALT)
    expect(photo_element).to_have_attribute("loading", "lazy")
    photo_element.scroll_into_view_if_needed()
    expect(photo_element).to_have_js_property("complete", True)
    assert photo_element.evaluate("img => img.naturalWidth") > 0
    expect(story.locator("figcaption")).to_contain_text("The barrier")
    screenshot("reader-sees-rich-story", reader)
    problems.assert_none()
    reader_problems.assert_none()

    # axe: the published story, and the whole change form (Select2's boxes
    # named by static/js/admin-article-form.js, the inlines' cells by
    # articles/admin_names.py), then with the story chooser open.
    axe_page.goto(article.get_absolute_url())
    check_with_axe(axe_page, screenshot, "story")
    axe_page.context.add_cookies(page.context.cookies())
    axe_page.goto(f"/admin/articles/article/{article.pk}/change/")
    check_with_axe(axe_page, screenshot, "form")
    axe_page.get_by_role("button", name="Story link").click()
    dialog = axe_page.get_by_role("dialog", name="Link to a story")
    dialog.get_by_label("Search stories by headline").press_sequentially("Barrier")
    expect(dialog.get_by_role("button", name=earlier.headline)).to_be_visible()
    check_with_axe(axe_page, screenshot, "story-chooser")
