"""axe-core, console errors and failed requests on every page people open."""

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

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


# The editor's desk (issue 19): the photo pages, the preview, password reset.


def check_admin_page(page, axe_page, screenshot, path):
    """An admin page, signed in as an editor: loads cleanly, passes axe."""
    problems = watch_for_problems(page)
    response = page.goto(path)
    assert response.status == 200
    problems.assert_none()
    axe_page.goto(path)
    check_with_axe(axe_page, screenshot)


def check_with_axe(axe_page, screenshot):
    for scheme in COLOUR_SCHEMES:
        axe_page.emulate_media(color_scheme=scheme)
        screenshot(scheme, axe_page)
    assert_no_axe_violations(axe_page, color_schemes=COLOUR_SCHEMES)


@pytest.fixture
def photo_library(transactional_db):
    make_image(photo_bytes(1200, 800), alt_text="A brass engine", caption="Engine")
    image = make_image(photo_bytes(800, 600), alt_text="", caption="No alt yet")
    return image


@pytest.mark.parametrize(
    "path",
    [
        "/admin/articles/image/picker/?field=id_lead_image",
        "/admin/articles/image/picker/?field=id_lead_image&_popup=1&q=engine",
        "/admin/articles/image/upload/",
        "change",
    ],
    ids=["picker", "picker-popup-search", "upload", "image-change-page"],
)
def test_photo_pages_are_accessible_and_load_cleanly(
    page, axe_page, screenshot, editor, photo_library, path
):
    if path == "change":
        path = f"/admin/articles/image/{photo_library.pk}/change/"
    for each in (page, axe_page):
        log_in(each, editor, "pw-editor-1")
    check_admin_page(page, axe_page, screenshot, path)


def test_article_preview_is_accessible_and_loads_cleanly(
    page, axe_page, screenshot, editor
):
    article = make_article(headline="Engine computes Bernoulli numbers")
    article.tags.add("Science")
    change_url = f"/admin/articles/article/{article.pk}/change/"
    for each, name in [(page, "page"), (axe_page, "axe")]:
        log_in(each, editor, "pw-editor-1")
        problems = watch_for_problems(each)
        each.goto(change_url)
        each.get_by_label("Headline").fill("Engine computes, unsaved")
        with each.context.expect_page() as opened:
            each.get_by_role("button", name="Preview").click()
        preview = opened.value
        preview.wait_for_load_state()
        expect(preview.get_by_role("heading", level=1)).to_have_text(
            "Engine computes, unsaved"
        )
        if name == "page":
            preview_problems = watch_for_problems(preview)
            preview.reload()  # a POST: watch it load again from the start
            problems.assert_none()
            preview_problems.assert_none()
        else:
            check_with_axe(preview, screenshot)


@pytest.mark.parametrize(
    "path",
    ["/admin/password_reset/", "/admin/password_reset/done/", "/admin/reset/done/"],
    ids=["reset-form", "reset-done", "reset-complete"],
)
def test_password_reset_pages_are_accessible_and_load_cleanly(
    page, axe_page, screenshot, path
):
    check_page(page, axe_page, screenshot, path)


def test_set_new_password_page_is_accessible_and_loads_cleanly(
    page, axe_page, screenshot, editor
):
    uid = urlsafe_base64_encode(force_bytes(editor.pk))
    link = f"/admin/reset/{uid}/{default_token_generator.make_token(editor)}/"
    # The link leads on to the form with the token kept in the session.
    check_page(page, axe_page, screenshot, link)
    expect(axe_page.get_by_label("New password:")).to_be_visible()
