"""One upload limit (NEWSROOM_UPLOAD_MAX_MB) for the app, the photo check and
nginx, and the site's own 413 page wherever a too-large upload is refused."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from articles.models import Image
from tests.services import Nginx, Site, manage, require_nginx
from tests.test_images import image_form_data, photo_bytes, upload

MEGABYTE = 1024 * 1024
OUR_413_PAGE = "Upload too large"


def over_a_megabyte():
    """A photo with padding: well over 1 MB however well it compresses."""
    return photo_bytes() + b"\0" * (MEGABYTE + 200_000)


@pytest.mark.django_db
def test_a_photo_over_the_limit_gets_our_413_page_in_the_admin(
    settings, editor_client, media_root
):
    settings.UPLOAD_MAX_BYTES = MEGABYTE
    settings.UPLOAD_MAX_MB = 1
    add_url = reverse("admin:articles_image_add")
    assert editor_client.get(add_url).status_code == 200
    response = editor_client.post(add_url, image_form_data(upload(over_a_megabyte())))
    assert response.status_code == 413
    page = response.content.decode()
    assert OUR_413_PAGE in page
    assert "over the site's limit of 1 MB" in page
    assert response["Content-Security-Policy"]  # the site's headers, too
    assert Image.objects.count() == 0
    # Under the limit the same form stores the photo.
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


def test_nginx_limit_is_written_from_the_same_setting(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site, NEWSROOM_UPLOAD_MAX_MB="7")
    conf = limits_conf(site.env, tmp_path / "nginx")
    assert re.findall(r"^client_max_body_size (\d+)m;$", conf, re.M) == ["7"]
    page = (tmp_path / "nginx" / "413.html").read_text()
    assert OUR_413_PAGE in page and "limit of 7 MB" in page
    # The page links the collected, hashed stylesheet nginx serves.
    assert re.search(r'href="/static/css/site\.[0-9a-f]{12}\.css"', page)
    assert f"alias {tmp_path / 'nginx' / '413.html'};" in conf


@pytest.fixture
def upload_site(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site, NEWSROOM_UPLOAD_MAX_MB="1")
    manage(site.env, "nginx_limits", "--verbosity", "0")
    return site


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
            b"\0" * (MEGABYTE + 1),
        )
        assert too_big.status == 413
        assert "nginx" in too_big.headers.get("server", "")
        assert OUR_413_PAGE in too_big.text
        assert "limit of 1 MB" in too_big.text
        # Just under the limit it reaches the app (the login form's CSRF 403).
        allowed = nginx.request(
            "/admin/login/",
            "POST",
            {"Content-Type": "application/octet-stream"},
            b"\0" * (MEGABYTE - 1000),
        )
        assert allowed.status == 403
    assert "status=403" in (site.var_dir / "server.log").read_text()
