"""A reader follows links through the seed story, on a phone and on a desktop."""

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from articles.models import Article
from tests.browser.checks import watch_for_problems

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SEED_HEADLINE = (
    "Vladimir Putin backs plan to set up military training centres in Belarus"
)
SEED_TOPIC = ("Belarus", "/tags/belarus/")
SEED_PERSON = ("Vladimir Putin", "/people/vladimir-putin/")
WIDTHS = {"phone": 375, "desktop": 1280}
# Enough Tab presses to walk any reader page; more means focus is trapped.
MOST_TAB_STOPS = 200

# What makes focus visible: an outline or a box shadow.
FOCUS_STYLE_JS = """el => {
    const style = getComputedStyle(el);
    return {
        outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
        visible: (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
                 || style.boxShadow !== "none",
        boxShadow: style.boxShadow,
    };
}"""


@pytest.fixture
def seed_article(transactional_db):
    """The seed story, loaded the way `make run` loads it."""
    call_command(
        "load_vocabulary",
        FIXTURES / "people.json",
        FIXTURES / "topics.json",
        verbosity=0,
    )
    call_command("import_articles", FIXTURES / "articles", verbosity=0)
    return Article.objects.published().get(headline=SEED_HEADLINE)


def active_element_description(page):
    return page.evaluate(
        """() => {
            const el = document.activeElement;
            const name = (el.innerText || el.value || el.name || "").trim();
            return `<${el.tagName.toLowerCase()}> ${name.slice(0, 60)}`;
        }"""
    )


def assert_no_horizontal_scrolling(page):
    widths = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], (
        f"{page.url} scrolls sideways: {widths[0]} px wide in a {widths[1]} px window"
    )


def assert_every_tab_stop_shows_focus(page):
    """Tab through the page: the skip link comes first, and every stop's
    outline or box shadow is visible and differs from its unfocused look."""
    page.evaluate("() => document.activeElement.blur()")
    unfocused = page.evaluate(
        f"""() => {{
            const styleOf = {FOCUS_STYLE_JS};
            const focusable = document.querySelectorAll(
                "a[href], button, input, select, textarea, [tabindex]");
            return Array.from(focusable, (el, index) => {{
                el.dataset.tabStop = index;
                return styleOf(el);
            }});
        }}"""
    )
    seen, invisible = [], []
    for _ in range(MOST_TAB_STOPS):
        page.keyboard.press("Tab")
        stop = page.evaluate("() => document.activeElement.dataset.tabStop ?? null")
        if stop is None or stop in seen:
            break  # Focus left the page (to the body) or came round again.
        if not seen:
            expect(page.locator(":focus")).to_have_class("skip-link")
        seen.append(stop)
        focused = page.evaluate(f"() => ({FOCUS_STYLE_JS})(document.activeElement)")
        if not focused["visible"] or focused == unfocused[int(stop)]:
            invisible.append(active_element_description(page))
    else:
        pytest.fail(f"focus never left {page.url} after {MOST_TAB_STOPS} Tab presses")
    assert seen, f"nothing on {page.url} takes focus from the keyboard"
    assert not invisible, f"no visible focus on {page.url} for: " + ", ".join(invisible)


def assert_skip_link_moves_focus_to_main(page):
    page.locator(".skip-link").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


def check_reader_page(page, screenshot, name):
    """What every page of the journey must do, at either width."""
    assert_no_horizontal_scrolling(page)
    assert_every_tab_stop_shows_focus(page)
    assert_skip_link_moves_focus_to_main(page)
    screenshot(name)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_reader_follows_the_seed_story_through_topic_and_person(
    page, screenshot, seed_article, width
):
    page.set_viewport_size({"width": width, "height": 800})
    problems = watch_for_problems(page)
    topic_name, topic_path = SEED_TOPIC
    person_name, person_path = SEED_PERSON

    page.goto("/")
    check_reader_page(page, screenshot, "home")

    page.get_by_role("link", name=SEED_HEADLINE).first.click()
    expect(page).to_have_url(
        re.compile(re.escape(seed_article.get_absolute_url()) + "$")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(SEED_HEADLINE)
    check_reader_page(page, screenshot, "article")

    page.locator(".story-footer").get_by_role("link", name=topic_name).click()
    expect(page).to_have_url(re.compile(re.escape(topic_path) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(topic_name)
    expect(page.get_by_role("link", name=SEED_HEADLINE)).to_be_visible()
    check_reader_page(page, screenshot, "topic")

    page.get_by_role("navigation", name="Sections").get_by_role(
        "link", name="People"
    ).click()
    page.get_by_role("link", name=person_name).first.click()
    expect(page).to_have_url(re.compile(re.escape(person_path) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(person_name)
    expect(page.get_by_role("link", name=SEED_HEADLINE)).to_be_visible()
    check_reader_page(page, screenshot, "person")

    page.locator(".masthead .site-name").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name=SEED_HEADLINE).first).to_be_visible()

    search_box = page.get_by_role("searchbox", name="Search")
    search_box.fill("Belarus")
    search_box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=Belarus$"))
    results = page.locator(".search-results")
    expect(results.get_by_role("link", name=SEED_HEADLINE)).to_have_attribute(
        "href", seed_article.get_absolute_url()
    )
    check_reader_page(page, screenshot, "search")

    problems.assert_none()
