"""Password reset by email for staff (issue 19), with Django's locmem mail backend."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from tests.test_settings import load_settings

pytestmark = pytest.mark.django_db

RESET_URL = reverse("admin_password_reset")


def reset_link(message):
    return re.search(r"https?://\S+/admin/reset/\S+/", message.body).group(0)


def test_login_page_links_to_the_password_reset(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert f'<a href="{RESET_URL}">' in html


def test_staff_member_resets_their_password_by_email_then_signs_in(
    client, editor, settings
):
    settings.SITE_URL = "https://news.example.com"
    settings.SITE_NAME = "The Daily Example"
    assert client.get(RESET_URL).status_code == 200

    response = client.post(RESET_URL, {"email": "editor@example.com"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["editor@example.com"]
    assert "The Daily Example" in message.subject
    link = reset_link(message)
    # From SITE_URL, never from the request's Host header.
    assert link.startswith("https://news.example.com/admin/reset/")

    set_password_page = client.get(link.removeprefix("https://news.example.com"))
    assert set_password_page.status_code == 302
    form_url = set_password_page["Location"]
    assert "Enter new password" in client.get(form_url).content.decode()
    done = client.post(
        form_url,
        {"new_password1": "a-fresh-pass-2026", "new_password2": "a-fresh-pass-2026"},
    )
    assert done.status_code == 302
    complete = client.get(done["Location"])
    assert f'href="{reverse("admin:login")}"' in complete.content.decode()

    login = client.post(
        reverse("admin:login"),
        {"username": "editor", "password": "a-fresh-pass-2026", "next": "/admin/"},
    )
    assert login.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    # The link works once only.
    client.logout()
    used = client.get(link.removeprefix("https://news.example.com"), follow=True)
    assert "The password reset link was invalid" in used.content.decode()


def test_no_mail_for_unknown_addresses_or_non_staff_and_the_same_answer(client, db):
    User.objects.create_user("reader", "reader@example.com", "pw-reader-1")
    for email in ["nobody@example.com", "reader@example.com"]:
        response = client.post(RESET_URL, {"email": email})
        assert response.status_code == 302
        assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_reset_pages_are_never_in_the_page_cache(client):
    # Plain pages without a form or cookie: the page cache would keep them,
    # were they not under /admin/.
    for url in [reverse("password_reset_done"), reverse("password_reset_complete")]:
        response = client.get(url)
        assert response.status_code == 200
        assert "X-Cache" not in response, url


def test_mail_goes_by_smtp_when_email_host_is_set_else_to_the_console(tmp_path):
    code = (
        "import newsroom.settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, "
        "s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_USE_TLS, s.DEFAULT_FROM_EMAIL)"
    )
    default = load_settings(tmp_path, DJANGO_SECRET_KEY="x" * 50, code=code)
    assert default.returncode == 0, default.stderr
    assert default.stdout.split()[0] == "django.core.mail.backends.console.EmailBackend"

    smtp = load_settings(
        tmp_path,
        DJANGO_SECRET_KEY="x" * 50,
        EMAIL_HOST="smtp.example.com",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="newsroom",
        EMAIL_HOST_PASSWORD="secret",
        EMAIL_USE_TLS="1",
        DEFAULT_FROM_EMAIL="desk@example.com",
        code=code,
    )
    assert smtp.returncode == 0, smtp.stderr
    assert smtp.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "smtp.example.com",
        "587",
        "newsroom",
        "True",
        "desk@example.com",
    ]
