"""Photos in the admin (issue 19): the lead image's thumbnail and picker,
uploading several photos at once, and the focal point set by clicking."""

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from articles import renditions
from articles.models import Image
from tests.background import committed, run_queued_tasks
from tests.conftest import make_article
from tests.html_forms import form_data
from tests.test_images import make_image, photo_bytes, stored_files, upload
from tests.test_security import INLINE_HANDLER, INLINE_SCRIPT, INLINE_STYLE

pytestmark = pytest.mark.django_db

PICKER_URL = reverse("admin:articles_image_picker")
UPLOAD_URL = reverse("admin:articles_image_upload")


def thumbnail_of(image):
    return renditions.renditions(image, "card", "webp")[0].url


def assert_no_inline_script_or_style(html):
    for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER):
        assert not pattern.search(html.encode()), pattern.pattern


# The lead image field


def test_lead_image_field_shows_the_chosen_photo_and_links_to_the_picker(
    editor_client,
):
    image = make_image(caption="Snow on the Kremlin")
    article = make_article(lead_image=image)
    html = editor_client.get(
        reverse("admin:articles_article_change", args=[article.pk])
    ).content.decode()

    assert (
        f'<img class="lead-image-thumbnail" src="{thumbnail_of(image)}" '
        'width="160" height="90" alt="">'
    ) in html
    assert f'href="{PICKER_URL}?field=id_lead_image"' in html
    assert f'<option value="{image.pk}" selected>Snow on the Kremlin</option>' in html
    assert "/static/js/admin-photos.js" in html
    assert_no_inline_script_or_style(html)


def test_article_form_without_a_lead_image_shows_no_thumbnail(editor_client):
    html = editor_client.get(reverse("admin:articles_article_add")).content.decode()
    assert 'class="lead-image-widget"' in html
    assert "lead-image-thumbnail" not in html


def test_thumbnail_address_answers_with_the_photos_thumbnail(editor_client, client):
    image = make_image()
    url = reverse("admin:articles_image_thumbnail", args=[image.pk])
    response = editor_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == thumbnail_of(image)
    missing = reverse("admin:articles_image_thumbnail", args=[999999])
    assert editor_client.get(missing).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
    assert client.get(url)["Location"].startswith(reverse("admin:login"))


# The picker


def test_picker_lists_thumbnails_newest_first_and_searches(editor_client):
    older = make_image(caption="Kremlin at dusk", credit="Agency Pool")
    newer = make_image(caption="A cat on a wall", alt_text="")

    html = editor_client.get(PICKER_URL, {"field": "id_lead_image"}).content.decode()
    assert html.index(thumbnail_of(newer)) < html.index(thumbnail_of(older))
    assert (
        f'data-image-id="{older.pk}" data-image-label="Kremlin at dusk" '
        f'data-thumbnail="{thumbnail_of(older)}"'
    ) in html
    assert "no alt text" in html  # the cat: it cannot lead a published story yet
    assert 'data-field="id_lead_image"' in html
    assert_no_inline_script_or_style(html)

    found = editor_client.get(PICKER_URL, {"q": "pool"}).content.decode()
    assert thumbnail_of(older) in found
    assert thumbnail_of(newer) not in found
    none = editor_client.get(PICKER_URL, {"q": "zebra"}).content.decode()
    assert "No photo matches “zebra”." in none


def test_picker_in_a_popup_hides_the_admin_header_and_keeps_it_on_search(
    editor_client,
):
    make_image()
    html = editor_client.get(
        PICKER_URL, {"field": "id_lead_image", "_popup": "1"}
    ).content.decode()
    assert 'class="popup ' in html
    assert '<input type="hidden" name="_popup" value="1">' in html


def test_picker_field_id_is_only_ever_an_html_id(editor_client):
    make_image()
    html = editor_client.get(
        PICKER_URL, {"field": '"><script>alert(1)</script>'}
    ).content.decode()
    assert "<script>alert" not in html
    assert 'data-field="id_lead_image"' in html
    assert '<input type="hidden" name="field" value="id_lead_image">' in html


def test_picker_pages_through_many_photos(editor_client):
    content = photo_bytes(320, 240)
    for number in range(25):
        make_image(content, caption=f"Photo {number}")
    first = editor_client.get(PICKER_URL).content.decode()
    assert first.count('class="button photo-picker-choose"') == 24
    assert "Page 1 of 2" in first
    second = editor_client.get(PICKER_URL, {"page": "2"}).content.decode()
    assert second.count('class="button photo-picker-choose"') == 1


def test_picker_needs_permission_to_view_images(client):
    user = User.objects.create_user("intern", password="pw-intern-1", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_article"))
    client.force_login(user)
    assert client.get(PICKER_URL).status_code == 403
    assert client.get(UPLOAD_URL).status_code == 403


# Uploading several photos at once


def test_editor_uploads_several_photos_and_each_bad_one_is_named(
    editor_client, editor, media_root
):
    changelist = reverse("admin:articles_image_changelist")
    assert f'href="{UPLOAD_URL}"' in editor_client.get(changelist).content.decode()
    page = editor_client.get(UPLOAD_URL).content.decode()
    assert re.search(r'<input type="file" name="files"[^>]* multiple', page)
    assert_no_inline_script_or_style(page)

    with committed():
        response = editor_client.post(
            UPLOAD_URL,
            {
                "files": [
                    upload(photo_bytes(800, 600), "harbour.jpg"),
                    upload(b"Minutes of the meeting.\n", "minutes.jpg"),
                    upload(photo_bytes(640, 480, "PNG"), "bridge.png"),
                    upload(
                        b'<svg xmlns="http://www.w3.org/2000/svg"></svg>', "logo.svg"
                    ),
                ]
            },
        )

    assert response.status_code == 302
    assert response["Location"] == changelist
    notes = [str(message) for message in get_messages(response.wsgi_request)]
    assert notes == [
        "“minutes.jpg” was not uploaded: The file is not a JPEG, PNG, WebP or AVIF "
        "image.",
        "“logo.svg” was not uploaded: SVG images are not accepted; upload a JPEG, "
        "PNG, WebP or AVIF photo.",
        "Uploaded 2 photo(s): harbour.jpg and bridge.png. Give each alt text "
        "before a story using it is published.",
    ]
    images = list(Image.objects.order_by("pk"))
    assert [(image.width, image.height) for image in images] == [(800, 600), (640, 480)]
    assert {image.uploaded_by for image in images} == {editor}
    # The request stored the originals; the tasks it enqueued make the rest.
    assert set(stored_files(media_root)) == {image.file.name for image in images}
    assert run_queued_tasks() == 2
    stored = set(stored_files(media_root))
    for image in images:
        assert image.file.name in stored
        assert {r.name for r in renditions.all_renditions(image)} <= stored


def test_upload_with_only_refused_files_stores_nothing_and_comes_back(
    editor_client, media_root
):
    response = editor_client.post(
        UPLOAD_URL, {"files": [upload(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif")]}
    )
    assert response.status_code == 302
    assert response["Location"] == UPLOAD_URL
    assert not Image.objects.exists()
    assert stored_files(media_root) == []
    page = editor_client.get(UPLOAD_URL).content.decode()
    assert "“a.gif” was not uploaded: The file is not a JPEG" in page


def test_upload_without_a_file_says_so(editor_client):
    response = editor_client.post(UPLOAD_URL, {})
    assert response.status_code == 200
    assert "Choose one or more photos to upload." in response.content.decode()


# The focal point and the image change page under the CSP


def test_image_change_page_sets_the_focal_point_by_click_without_inline_style(
    editor_client,
):
    image = make_image(focal_x=0.25, focal_y=0.75)
    change_url = reverse("admin:articles_image_change", args=[image.pk])
    html = editor_client.get(change_url).content.decode()

    assert '<div class="focal-point-frame"><img src="' in html
    assert "/static/js/admin-photos.js" in html
    assert "/static/css/admin-photos.css" in html
    assert_no_inline_script_or_style(html)
    # Without JavaScript the two numbers still set it.
    data = form_data(html, "image_form")
    data.update(focal_x=["0.6"], focal_y=["0.4"])
    assert editor_client.post(change_url, data).status_code == 302
    image.refresh_from_db()
    assert (image.focal_x, image.focal_y) == (0.6, 0.4)


def test_picker_query_count_does_not_grow_with_photos(editor_client):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            assert editor_client.get(PICKER_URL).status_code == 200
        return len(queries)

    content = photo_bytes(320, 240)
    make_image(content)
    one = count_queries()
    for _ in range(9):
        make_article(lead_image=make_image(content))
    assert count_queries() == one
