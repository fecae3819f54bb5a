"""An editor uploads several photos at once and sets one's focal point by clicking."""

import re

from playwright.sync_api import expect

from articles.models import Image
from tests.browser.checks import watch_for_problems
from tests.browser.test_editor_journey import log_in
from tests.test_images import photo_bytes


def test_editor_uploads_photos_and_sets_a_focal_point_by_clicking(
    page, editor, screenshot
):
    problems = watch_for_problems(page)  # a CSP violation shows as a console error
    log_in(page, editor, "pw-editor-1")

    page.goto("/admin/articles/image/")
    page.get_by_role("link", name="Upload several photos").click()
    page.get_by_label("Photos").set_input_files(
        [
            {"name": "harbour.jpg", "mimeType": "image/jpeg", "buffer": photo_bytes()},
            {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"Notes.\n"},
            {
                "name": "bridge.png",
                "mimeType": "image/png",
                "buffer": photo_bytes(900, 600, "PNG"),
            },
        ]
    )
    screenshot("several-photos-chosen")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".messagelist .error")).to_have_text(
        "“notes.jpg” was not uploaded: The file is not a JPEG, PNG, WebP or AVIF image."
    )
    expect(page.locator(".messagelist .success")).to_contain_text(
        "Uploaded 2 photo(s): harbour.jpg and bridge.png."
    )
    screenshot("uploaded")
    assert Image.objects.count() == 2

    # The focal point: a click three quarters across and a quarter down.
    bridge = Image.objects.get(width=900)
    page.goto(f"/admin/articles/image/{bridge.pk}/change/")
    photo = page.locator(".focal-point-frame img")
    box = photo.bounding_box()
    photo.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.25})
    # Within a pixel: clicks land on whole pixels.
    expect(page.get_by_label("Focal x")).to_have_value(re.compile(r"^0\.7[45]\d$"))
    expect(page.get_by_label("Focal y")).to_have_value(re.compile(r"^0\.2[45]\d$"))
    expect(page.locator(".focal-point-marker")).to_be_visible()
    screenshot("focal-point-clicked")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist .success")).to_contain_text("was changed")
    bridge.refresh_from_db()
    assert abs(bridge.focal_x - 0.75) < 0.01 and abs(bridge.focal_y - 0.25) < 0.01

    problems.assert_none()
