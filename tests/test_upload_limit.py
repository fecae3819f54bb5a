"""One upload limit (NEWSROOM_UPLOAD_MAX_MB) for the photo check, the app's
request limit and nginx (the photo plus 1 MB for its form), and the site's own
413 page wherever a too-large request is refused."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from articles.models import Image
from tests.services import Nginx, Site, manage, require_nginx
from tests.test_images import image_form_data, photo_bytes, upload

MEGABYTE = 1024 * 1024
OUR_413_PAGE = "Upload too large"


def padded_photo(megabytes):
    """A photo padded to the given size, however well it compresses."""
    photo = photo_bytes()
    return photo + b"\0" * (int(megabytes * MEGABYTE) - len(photo))


@pytest.fixture
def one_megabyte_photos(settings):
    """What NEWSROOM_UPLOAD_MAX_MB=1 sets (tests/test_settings.py checks that)."""
    settings.UPLOAD_MAX_MB, settings.UPLOAD_MAX_BYTES = 1, MEGABYTE
    settings.REQUEST_MAX_MB, settings.REQUEST_MAX_BYTES = 2, 2 * MEGABYTE


@pytest.mark.django_db
def test_a_request_over_the_limit_gets_our_413_page_in_the_admin(
    one_megabyte_photos, editor_client, media_root
):
    add_url = reverse("admin:articles_image_add")
    assert editor_client.get(add_url).status_code == 200
    response = editor_client.post(add_url, image_form_data(upload(padded_photo(2.5))))
    assert response.status_code == 413
    page = response.content.decode()
    assert OUR_413_PAGE in page
    assert "over 2 MB" in page and "at most 1 MB" in page
    assert response["Content-Security-Policy"]  # the site's headers, too
    assert Image.objects.count() == 0


@pytest.mark.django_db
def test_a_photo_just_over_the_limit_gets_the_forms_exact_error(
    one_megabyte_photos, editor_client, media_root
):
    add_url = reverse("admin:articles_image_add")
    response = editor_client.post(add_url, image_form_data(upload(padded_photo(1.2))))
    assert response.status_code == 200
    assert "The file is 1.2 MB; the limit is 1 MB." in response.content.decode()
    response = editor_client.post(add_url, image_form_data(upload(photo_bytes())))
    assert response.status_code == 302
    assert Image.objects.count() == 1


@pytest.mark.django_db
def test_form_text_over_the_memory_limit_gets_the_413_page_too(settings):
    """Without a Content-Length (a chunked body) Django's own check is what
    notices; it answers with the same page, not a bare 400."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/admin/login/", {"username": "x" * 5000})
    assert response.status_code == 413
    assert OUR_413_PAGE in response.content.decode()


@pytest.mark.django_db
def test_other_bad_requests_keep_djangos_400(settings):
    response = Client().get("/", HTTP_HOST="attacker.example")
    assert response.status_code == 400


def limits_conf(env, output_dir):
    manage(env, "nginx_limits", "--output-dir", str(output_dir))
    return (output_dir / "limits.conf").read_text()


@pytest.mark.processes
def test_nginx_limit_is_written_from_the_same_setting(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site, NEWSROOM_UPLOAD_MAX_MB="7")
    conf = limits_conf(site.env, tmp_path / "nginx")
    # The photo and its form: what the app itself accepts (REQUEST_MAX_MB).
    assert re.findall(r"^client_max_body_size (\d+)m;$", conf, re.M) == ["8"]
    page = (tmp_path / "nginx" / "413.html").read_text()
    assert OUR_413_PAGE in page and "over 8 MB" in page and "at most 7 MB" in page
    # The page links the collected, hashed stylesheet nginx serves.
    assert re.search(r'href="/static/css/site\.[0-9a-f]{12}\.css"', page)
    assert f"alias {tmp_path / 'nginx' / '413.html'};" in conf


@pytest.fixture
def upload_site(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site, NEWSROOM_UPLOAD_MAX_MB="1")
    manage(site.env, "nginx_limits", "--verbosity", "0")
    return site


@pytest.mark.processes
def test_nginx_refuses_a_body_over_the_limit_with_our_page(upload_site, tmp_path):
    require_nginx()
    site = upload_site
    with (
        site.server(workers=1) as server,
        Nginx(server.port, site.var_dir, tmp_path / "nginx-run") as nginx,
    ):
        too_big = nginx.request(
            "/admin/login/",
            "POST",
            {"Content-Type": "application/octet-stream"},
            b"\0" * (2 * MEGABYTE + 1),
        )
        assert too_big.status == 413
        assert "nginx" in too_big.headers.get("server", "")
        assert OUR_413_PAGE in too_big.text
        assert "over 2 MB" in too_big.text
        # Just under the limit it reaches the app (the login form's CSRF 403).
        allowed = nginx.request(
            "/admin/login/",
            "POST",
            {"Content-Type": "application/octet-stream"},
            b"\0" * (2 * MEGABYTE - 1000),
        )
        assert allowed.status == 403
    assert "status=403" in (site.var_dir / "server.log").read_text()
