"""An editor renames, corrects and restores a published story in the admin."""

import re

from playwright.sync_api import expect

from articles.models import Article
from tests.browser.checks import watch_for_problems
from tests.browser.test_editor_journey import log_in
from tests.conftest import make_article

HEADLINE = "Ferry timetable changes for the winter"
OLD_SLUG = "ferry-timetable-changes"
NEW_SLUG = "winter-ferry-timetable"
NEW_HEADLINE = "Ferry timetable cut for the winter"
CORRECTION = "The last ferry leaves at 22.10, not at 22.40."


def read_latest(reader, path):
    """Open the page as it is now. Pages may be kept by the reader's browser
    for a few seconds (max-age), so, like a reader waiting for news, reload:
    the browser then asks the server again."""
    reader.goto(path)
    reader.reload()


def test_editor_renames_corrects_and_restores_a_story(page, reader, editor, screenshot):
    assert not editor.is_superuser
    article = make_article(headline=HEADLINE, slug=OLD_SLUG)
    change_url = f"/admin/articles/article/{article.pk}/change/"
    problems = watch_for_problems(page)
    reader_problems = watch_for_problems(reader)
    log_in(page, editor, "pw-editor-1")

    # A new slug: the old address answers 301 to the new one.
    page.goto(change_url)
    page.locator("#id_slug").fill(NEW_SLUG)
    screenshot("slug-renamed")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed")
    redirect = reader.request.get(f"/articles/{OLD_SLUG}/", max_redirects=0)
    assert redirect.status == 301
    assert redirect.headers["location"].endswith(f"/articles/{NEW_SLUG}/")
    reader.goto(f"/articles/{OLD_SLUG}/")
    expect(reader).to_have_url(re.compile(f"/articles/{NEW_SLUG}/$"))
    expect(reader.get_by_role("heading", level=1)).to_have_text(HEADLINE)
    screenshot("old-address-lands-on-new", reader)

    # A correction, added in the inline, shows in its box under the story.
    page.goto(change_url)
    corrections = page.locator("#corrections-group")
    corrections.locator(".add-row a", has_text="Add another Correction").click()
    page.locator("#id_corrections-0-kind").select_option("correction")
    page.locator("#id_corrections-0-text").fill(CORRECTION)
    screenshot("correction-added")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed")
    read_latest(reader, f"/articles/{NEW_SLUG}/")
    box = reader.locator(".corrections .correction")
    expect(box).to_have_count(1)
    expect(box.locator(".correction-kind")).to_have_text("Correction")
    expect(box.locator(".correction-text")).to_contain_text(CORRECTION)
    screenshot("reader-sees-correction", reader)

    # A new headline, then the oldest revision restored: the old one is back.
    page.goto(change_url)
    page.locator("#id_headline").fill(NEW_HEADLINE)
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed")
    read_latest(reader, f"/articles/{NEW_SLUG}/")
    expect(reader.get_by_role("heading", level=1)).to_have_text(NEW_HEADLINE)

    page.goto(f"/admin/articles/article/{article.pk}/history/")
    revisions = page.locator("#revision-history tbody tr")
    expect(revisions.first).to_contain_text("Headline")
    screenshot("history")
    revisions.last.get_by_role("link", name="Restore this version…").click()
    expect(page.locator("#id_headline")).to_have_value(HEADLINE)
    screenshot("restore-form")
    page.locator('input[name="_save"]').click()
    expect(page.locator(".messagelist .success")).to_be_visible()
    restored = Article.objects.get(pk=article.pk)
    assert restored.headline == HEADLINE
    read_latest(reader, restored.get_absolute_url())
    expect(reader.get_by_role("heading", level=1)).to_have_text(HEADLINE)
    screenshot("reader-sees-old-headline", reader)

    problems.assert_none()
    reader_problems.assert_none()
