"""Every page type passes the Nu Html Checker (vnu-jar from npm, run by Java).

`make test` installs the checker with `npm ci`; without Java or the jar the
test is skipped and says why.
"""

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from articles.frontpage import FrontPageSlot
from articles.models import Article
from tests.conftest import (
    credit,
    make_article,
    make_author,
    make_person,
    make_related_link,
)
from tests.html_forms import form_data
from tests.test_images import make_image, photo_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.processes]

VNU_JAR = (
    Path(__file__).resolve().parent.parent / "node_modules/vnu-jar/build/dist/vnu.jar"
)


def checker_command():
    java = shutil.which("java")
    if java is None:
        pytest.skip("Java is not installed: the Nu Html Checker needs it")
    if not VNU_JAR.is_file():
        pytest.skip(f"{VNU_JAR} is missing: run `npm ci --ignore-scripts` (make test)")
    return [java, "-jar", str(VNU_JAR), "--format", "json", "--errors-only", "--stdout"]


@pytest.fixture
def newsroom():
    """A small site with every feature a page can show."""
    putin = make_person(
        name="Vladimir Putin",
        slug="vladimir-putin",
        description="President of Russia",
        bio="Leader of Russia since 1999.\n\nA former KGB officer.",
    )
    lukashenko = make_person(name="Alexander Lukashenko", slug="lukashenko")
    linked = make_article(slug="linked-story", standfirst="A linked story & more.")
    linked.tags.add("Russia")
    article = make_article(
        slug="the-story",
        headline="Putin backs <b>plan</b> for training centres & more",
        standfirst="A decree <script>alert(1)</script> was published on Tuesday.",
        body="First paragraph.\nStill the first.\n\nSecond & last paragraph.",
        image_caption="Russian president Vladimir Putin.",
        image_credit="AP",
        published_at=timezone.now() - timedelta(days=1),
    )
    article.tags.add("Russia", "Belarus", "Ukraine war")
    article.people.add(putin, lukashenko)
    make_related_link(article, title="On this site", summary="Sum.", target=linked)
    make_related_link(article, title="Elsewhere", url="https://example.com/a?b=1&c=2")
    make_related_link(article, title="Plain text only")
    article.corrections.create(
        text="An earlier version said <b>Monday</b>.\n\nIt was Tuesday & not Monday."
    )
    article.corrections.create(kind="clarification", text="The centres train & test.")
    for _ in range(25):
        make_article().tags.add("Russia")
    topic = article.tags.get(slug="russia")
    topic.description = "Coverage of Russia.\n\nIts politics and its war."
    topic.save()
    # Photos: a lead image with its own caption, and card photos on every list.
    photo = make_image(
        photo_bytes(1200, 800),
        alt_text="Soldiers march past a tank & a crowd",
        caption="Troops <on> exercise",
        credit="Reuters & AP",
    )
    with_photo = make_article(slug="with-photo", lead_image=photo)
    with_photo.tags.add("Russia")
    with_photo.people.add(putin)
    # Every other story on the lists shows a card photo.
    Article.objects.exclude(slug="the-story").filter(
        id__in=[
            pk
            for index, pk in enumerate(Article.objects.values_list("pk", flat=True))
            if index % 2
        ]
    ).update(lead_image=photo)
    draft = make_article(slug="a-draft", status=Article.Status.DRAFT, published_at=None)
    draft.tags.add("Russia")
    # A body with every element a body may hold (articles/richtext.py).
    make_article(
        slug="rich-body",
        body="<p>Opening &amp; <strong>strong</strong>, <em>em</em>,<br>a break, "
        '<a href="https://example.com/?a=1&amp;b=2">a link</a>, '
        f'<a data-story="{linked.pk}">a story</a>, <a data-story="{draft.pk}">a '
        'draft</a> and <a href="mailto:desk@example.com">mail</a>.</p>'
        "<h2>Subheading</h2><h3>Smaller</h3>"
        "<blockquote><p>Quoted.</p><p><cite>Speaker</cite></p></blockquote>"
        "<ul><li><p>one</p></li><li>two</li></ul><ol><li>first</li></ol>"
        f'<figure data-image="{photo.pk}"></figure><p>After the photo.</p>',
    )
    # Bylines on the story and its cards, an author page with every part, and
    # a front page editors chose.
    ada = make_author(
        name="Ada <Lovelace> & Co",
        slug="ada",
        job_title="Science & engines",
        bio="Writes about engines.\n\nAnd <numbers>.",
        photo=photo,
        website="https://ada.example.org/?a=1&b=2",
        social_profiles="https://mastodon.example/@ada",
    )
    for story in Article.objects.filter(status=Article.Status.PUBLISHED)[:22]:
        credit(story, ada, make_author(), make_author())
    FrontPageSlot.objects.create(place=FrontPageSlot.Place.LEAD, article=with_photo)
    FrontPageSlot.objects.create(place=FrontPageSlot.Place.TOP_2, article=linked)
    return article


def test_every_page_type_passes_the_nu_html_checker(
    client, editor, newsroom, tmp_path, settings
):
    command = checker_command()
    settings.DEBUG = False
    pages = {
        "home": ("/", 200),
        "home-page-2": ("/?page=2", 200),
        "article": ("/articles/the-story/", 200),
        "article-with-photo": ("/articles/with-photo/", 200),
        "article-rich-body": ("/articles/rich-body/", 200),
        "topic-index": ("/tags/", 200),
        "topic": ("/tags/russia/", 200),
        "topic-page-2": ("/tags/russia/?page=2", 200),
        "people-index": ("/people/", 200),
        "person": ("/people/vladimir-putin/", 200),
        "corrections": ("/corrections/", 200),
        "author": ("/authors/ada/", 200),
        "author-page-2": ("/authors/ada/?page=2", 200),
        "not-found": ("/no/such/page/", 404),
    }
    files = []
    for name, (url, status) in pages.items():
        response = client.get(url)
        assert response.status_code == status, url
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.content)

    client.force_login(editor)
    preview = client.get("/articles/a-draft/")
    assert b"Draft preview" in preview.content
    files.append(tmp_path / "draft-preview.html")
    files[-1].write_bytes(preview.content)
    front_page_screen = client.get("/admin/articles/frontpageslot/")
    assert b"Lead story" in front_page_screen.content
    files.append(tmp_path / "admin-front-page.html")
    files[-1].write_bytes(front_page_screen.content)

    client.raise_request_exception = False
    settings.ROOT_URLCONF = "tests.failing_urls"
    server_error = client.get("/explode/")
    assert server_error.status_code == 500
    files.append(tmp_path / "server-error.html")
    files[-1].write_bytes(server_error.content)

    # One Java start for all pages: the checker takes a second or two to boot.
    result = subprocess.run(
        [*command, *map(str, files)], capture_output=True, text=True, timeout=300
    )
    messages = json.loads(result.stdout)["messages"]
    errors = [
        f"{Path(message.get('url', '')).name}:{message.get('lastLine')}: "
        f"{message['message']}"
        for message in messages
    ]
    assert errors == []
    assert result.returncode == 0


def check_files(files):
    """Nu Html Checker errors in the given files, one line each."""
    result = subprocess.run(
        [*checker_command(), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stdout)["messages"]
    return [
        f"{Path(message.get('url', '')).name}:{message.get('lastLine')}: "
        f"{message['message']}"
        for message in messages
    ]


def test_editors_new_pages_pass_the_nu_html_checker(
    client, editor_client, newsroom, tmp_path, settings
):
    """Issue 19's pages: the article preview, the photo picker and upload, and
    the password reset pages."""
    checker_command()
    settings.DEBUG = False
    change_url = reverse("admin:articles_article_change", args=[newsroom.pk])
    data = form_data(editor_client.get(change_url).content.decode(), "article_form")
    data["headline"] = ["An unsaved <em>headline</em> & more"]
    pages = {
        "preview": editor_client.post(
            reverse("admin:articles_article_preview", args=[newsroom.pk]), data
        ),
        "preview-errors": editor_client.post(
            reverse("admin:articles_article_preview", args=[newsroom.pk]),
            {**data, "headline": [""]},
        ),
        "picker": editor_client.get(
            reverse("admin:articles_image_picker"), {"_popup": "1", "q": "troops"}
        ),
        "picker-all": editor_client.get(reverse("admin:articles_image_picker")),
        "upload": editor_client.get(reverse("admin:articles_image_upload")),
    }
    editor_client.logout()
    pages["reset-form"] = client.get(reverse("admin_password_reset"))
    client.post(reverse("admin_password_reset"), {"email": "editor@example.com"})
    pages["reset-done"] = client.get(reverse("password_reset_done"))
    link = re.search(r"https?://[^/]+(/admin/reset/\S+/)", mail.outbox[0].body)
    set_password_url = client.get(link.group(1))["Location"]
    pages["reset-confirm"] = client.get(set_password_url)
    pages["reset-complete"] = client.get(reverse("password_reset_complete"))
    files = []
    for name, response in pages.items():
        assert response.status_code == 200, name
        files.append(tmp_path / f"{name}.html")
        files[-1].write_bytes(response.content)
    assert check_files(files) == []
