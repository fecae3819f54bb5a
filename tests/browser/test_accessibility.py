"""axe-core, console errors and failed requests on every page people open."""

import pytest

from articles.frontpage import FrontPageSlot
from articles.models import Correction
from tests.browser.checks import assert_no_axe_violations, watch_for_problems
from tests.browser.test_editor_journey import log_in
from tests.conftest import (
    credit,
    make_article,
    make_author,
    make_person,
    make_related_link,
)
from tests.test_images import make_image, photo_bytes

COLOUR_SCHEMES = ["light", "dark"]


@pytest.fixture
def axe_page(new_context):
    # axe is injected as an inline script, which a Content-Security-Policy
    # forbids; only this context bypasses it. The page is also opened in an
    # ordinary context, where a CSP violation shows as a console error.
    return new_context(bypass_csp=True).new_page()


def check_page(page, axe_page, screenshot, path, status=200):
    """The page answers with status, loads cleanly and passes axe, light and dark."""
    problems = watch_for_problems(page)
    response = page.goto(path)
    assert response.status == status
    problems.assert_none()

    axe_page.goto(path)
    # The admin's links fade between colours when the scheme changes; axe must
    # measure the colours they settle on, not one halfway.
    axe_page.add_style_tag(
        content="*, *::before, *::after { transition: none !important; }"
    )
    for scheme in COLOUR_SCHEMES:
        axe_page.emulate_media(color_scheme=scheme)
        screenshot(scheme, axe_page)
    assert_no_axe_violations(axe_page, color_schemes=COLOUR_SCHEMES)


def test_admin_login_page_is_accessible_and_loads_cleanly(page, axe_page, screenshot):
    check_page(page, axe_page, screenshot, "/admin/login/")


@pytest.fixture
def reader_pages(transactional_db):
    """Path and status of each reader page, made from one published article."""
    person = make_person(name="Ada Lovelace", slug="ada-lovelace")
    article = make_article(
        headline="Engine computes Bernoulli numbers",
        slug="engine-computes-bernoulli-numbers",
        image_caption="The analytical engine in the museum.",
        image_credit="Science Museum",
        lead_image=make_image(photo_bytes(1200, 800), alt_text="A brass engine"),
    )
    for _ in range(3):  # card photos on the home, topic and person pages
        make_article(lead_image=article.lead_image).tags.add("Science")
    article.tags.add("Science", "History")
    article.people.add(person)
    author = make_author(
        name="Grace Hopper",
        slug="grace-hopper",
        job_title="Computing correspondent",
        bio="Writes about compilers.",
        photo=article.lead_image,
        website="https://grace.example.org/",
    )
    credit(article, author, make_author(name="Alan Turing"))
    make_related_link(article, title="The engine's design", url="https://example.org/")
    corrected = make_article(
        headline="Museum reopens its computing gallery",
        slug="museum-reopens-its-computing-gallery",
    )
    Correction.objects.create(
        article=corrected,
        kind=Correction.Kind.CORRECTION,
        text="The gallery reopened on Tuesday, not on Monday.",
    )
    Correction.objects.create(
        article=corrected,
        kind=Correction.Kind.CLARIFICATION,
        text="The engine on show is a reconstruction.",
    )
    return {
        "home": ("/", 200),
        "article": (article.get_absolute_url(), 200),
        "tag index": ("/tags/", 200),
        "tag": ("/tags/science/", 200),
        "people index": ("/people/", 200),
        "person": (person.get_absolute_url(), 200),
        "search": ("/search/?q=Bernoulli", 200),
        "404": ("/no-such-page/", 404),
        "corrections": ("/corrections/", 200),
        "article with corrections": (corrected.get_absolute_url(), 200),
        "author": (author.get_absolute_url(), 200),
    }


@pytest.mark.parametrize(
    "name",
    [
        "home",
        "article",
        "tag index",
        "tag",
        "people index",
        "person",
        "search",
        "404",
        "corrections",
        "article with corrections",
        "author",
    ],
)
def test_reader_page_is_accessible_and_loads_cleanly(
    page, axe_page, screenshot, reader_pages, name
):
    path, status = reader_pages[name]
    check_page(page, axe_page, screenshot, path, status)


def test_front_page_screen_is_accessible_and_loads_cleanly(
    page, axe_page, screenshot, editor
):
    lead = make_article(headline="Engine computes Bernoulli numbers")
    FrontPageSlot.objects.create(place=FrontPageSlot.Place.LEAD, article=lead)
    for signed_in in (page, axe_page):
        log_in(signed_in, editor, "pw-editor-1")
    check_page(page, axe_page, screenshot, "/admin/articles/frontpageslot/")
