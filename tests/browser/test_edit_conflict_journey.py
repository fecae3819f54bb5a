"""An editor saves a story someone changed meanwhile: the conflict page lets them
choose, field by field, and is accessible."""

from playwright.sync_api import expect

from articles.models import Article
from tests.browser.checks import assert_no_axe_violations, watch_for_problems
from tests.browser.test_editor_journey import log_in
from tests.conftest import make_article


def test_editor_resolves_an_edit_conflict_field_by_field(
    new_context, editor, screenshot
):
    article = make_article(headline="Ferry timetable changes", body="Old body.")
    # axe is injected as a script, which the admin's Content-Security-Policy forbids.
    page = new_context(bypass_csp=True).new_page()
    problems = watch_for_problems(page)
    log_in(page, editor, "pw-editor-1")
    page.goto(f"/admin/articles/article/{article.pk}/change/")
    editor_box = page.get_by_role("textbox", name="Body")  # the rich-text editor
    editor_box.click()
    editor_box.press("Control+a")
    editor_box.press_sequentially("The ferry now leaves at nine.")

    # Meanwhile someone else retitles the story.
    stored = Article.objects.get(pk=article.pk)
    stored.headline = "Ferry timetable changes from Monday"
    stored.save()

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save", exact=True).click()
    assert posted.value.status == 409
    expect(page.get_by_role("heading", level=1)).to_contain_text("Someone else saved")
    headline = page.get_by_role("group", name="Headline")
    body = page.get_by_role("group", name="Body")
    expect(headline).to_contain_text("from Monday")
    expect(body).to_contain_text("The ferry now leaves at nine.")
    screenshot("edit-conflict", page)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        assert_no_axe_violations(page)

    headline.get_by_label("Keep the stored one").check()
    body.get_by_label("Take mine").check()
    page.get_by_role("button", name="Save my choices").click()

    expect(page.locator(".messagelist .success")).to_contain_text("was changed")
    problems.assert_none()
    article.refresh_from_db()
    assert article.headline == "Ferry timetable changes from Monday"
    assert article.body == "<p>The ferry now leaves at nine.</p>"
