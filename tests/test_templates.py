"""House rules for templates and styles: semantic, script-free, small CSS."""

import re
from pathlib import Path

import pytest

from tests.conftest import make_article

ROOT = Path(__file__).resolve().parent.parent
CSS = ROOT / "static/css/site.css"
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def test_stylesheet_is_small_and_covers_dark_mode_print_and_focus():
    css = CSS.read_text()
    assert CSS.stat().st_size < 15 * 1024
    assert "@media (prefers-color-scheme: dark)" in css
    assert "@media print" in css
    assert ":focus-visible" in css


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_have_no_inline_styles_or_scripts(template):
    # The content security policy allows neither; JSON-LD data is not a script,
    # and a script loaded from our own static files is not inline.
    html = template.read_text()
    assert " style=" not in html
    assert "<style" not in html
    for tag in re.findall(r"<script[^>]*>", html):
        assert tag == '<script type="application/ld+json">' or " src=" in tag, tag
    assert not re.search(
        r"<script(?![^>]*\ssrc=)[^>]*>\s*[^<\s]",
        html.replace('<script type="application/ld+json">', ""),
    )


@pytest.mark.django_db
def test_pages_have_landmarks_a_skip_link_and_a_language(client):
    article = make_article()
    html = client.get(article.get_absolute_url()).content.decode()
    assert '<html lang="en-GB">' in html
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<main id="main"' in html
    for landmark in ("<header", "<nav", "<article", "<footer"):
        assert landmark in html
    assert "<script src" not in html
