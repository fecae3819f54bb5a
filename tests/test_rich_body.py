"""Story bodies as sanitised HTML (issue 18): storage, reading, photos, links."""

import json
import re
from html import escape
from importlib import import_module

import feedparser
import pytest
from django.apps import apps as installed_apps
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ProtectedError
from django.urls import reverse

from articles import richtext
from articles.history import article_history, field_changes
from articles.ingest.formats import ParsedArticle
from articles.models import Article, Image
from articles.search import parse_query, search_articles
from tests.conftest import make_article
from tests.html_forms import form_data
from tests.test_images import make_image
from tests.test_importer import run_import, write

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]

EVERY_ELEMENT = (
    "<h2>Sub heading</h2>\n"
    '<p>Plain, <strong>strong</strong>, <em>emphasis</em>, <a href="https://'
    'example.com/a?b=1&amp;c=2">a link</a> and <a href="mailto:desk@example.com">'
    "mail</a>.<br>A second line.</p>\n"
    "<h3>Smaller heading</h3>\n"
    "<blockquote><p>Quoted words.</p><cite>A Speaker</cite></blockquote>\n"
    "<ul><li>bullet one</li><li>bullet two</li></ul>\n"
    "<ol><li>number one</li><li>number two</li></ol>"
)

HOSTILE = {
    "script": ("<p>a</p><script>alert('x')</script>", "alert"),
    "img onerror": ('<p>a<img src=x onerror="alert(1)"></p>', "onerror"),
    "javascript link": ('<p><a href="javascript:alert(1)">go</a></p>', "javascript:"),
    "iframe": (
        '<iframe src="https://evil.example/">frame text</iframe><p>a</p>',
        "frame",
    ),
    "style attribute": ('<p style="position:fixed">a</p>', "style"),
    "svg onload": ('<svg onload="alert(1)"><p>a</p></svg>', "onload"),
    "unclosed tag": ("<p>a <strong>bold", "<strong>bold</p>"),
}


def change_url(article):
    return reverse("admin:articles_article_change", args=[article.pk])


def save_in_admin(client, article, **changes):
    data = form_data(client.get(change_url(article)).content.decode(), "article_form")
    for name, value in changes.items():
        data[name] = [value]
    return client.post(change_url(article), data)


def page(client, article):
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def story_body_html(html):
    return html.split('<div class="story-body">', 1)[1].split("</div>", 1)[0]


# Storage and the sanitiser -----------------------------------------------------


def test_every_allowed_element_survives_save_and_reaches_the_page(client):
    article = make_article(body=EVERY_ELEMENT)
    article.refresh_from_db()
    assert article.body == EVERY_ELEMENT
    body = story_body_html(page(client, article))
    for tag in ("h2", "h3", "strong", "em", "blockquote", "cite", "ul", "ol", "li"):
        assert f"<{tag}>" in body
    assert '<a href="https://example.com/a?b=1&amp;c=2">a link</a>' in body
    assert '<a href="mailto:desk@example.com">mail</a>' in body
    assert "mail</a>.<br>A second line." in body


def test_every_allowed_element_survives_the_admin(editor_client):
    article = make_article(body="<p>old</p>")
    response = save_in_admin(editor_client, article, body=EVERY_ELEMENT)
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.body == EVERY_ELEMENT


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markup_is_removed_by_save(name):
    markup, trace = HOSTILE[name]
    article = make_article(body=markup)
    article.refresh_from_db()
    assert trace not in article.body.replace("<strong>bold</strong></p>", "")
    assert article.body == richtext.clean(article.body)  # nothing left to clean


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_markup_is_removed_through_the_admin(editor_client, client, name):
    markup, trace = HOSTILE[name]
    article = make_article(body="<p>before</p>")
    assert save_in_admin(editor_client, article, body=markup).status_code == 302
    article.refresh_from_db()
    assert trace not in article.body.replace("<strong>bold</strong></p>", "")
    assert trace not in story_body_html(page(client, article)).replace(
        "<strong>bold</strong></p>", ""
    )


def test_unclosed_tag_is_closed():
    assert (
        make_article(body="<p>a <strong>bold").body == "<p>a <strong>bold</strong></p>"
    )


def test_relative_and_odd_links_lose_their_address():
    article = make_article(
        body='<p><a href="/admin/">a</a> <a href=" javascript:x">b</a>'
        '<a data-story="x1">c</a><figure data-image="-3"></figure></p>'
    )
    assert "href" not in article.body
    assert "data-" not in article.body


def test_plain_text_from_code_becomes_paragraphs():
    article = make_article(body="One & two.\r\n\r\nThree\nfour.")
    assert article.body == "<p>One &amp; two.</p>\n<p>Three<br>four.</p>"
    assert article.body_text == "One & two.\n\nThree\nfour."
    assert article.paragraphs() == ["One & two.", "Three\nfour."]


# The migration -----------------------------------------------------------------


MIGRATION = import_module("articles.migrations.0013_rich_body")
STORED_BODIES = [
    "One paragraph.",
    "First & <b>not markup</b>.\n\nSecond, with a \"quote\" and 'apostrophe'.",
    "Line one\nline two of one paragraph.\n\nNext < paragraph > here.",
    "Ünïcödé — dashes … and non\u00a0breaking space.",
]


def test_migration_turns_bodies_into_paragraphs_and_back():
    """Both migration functions over the stored rows (with the app's registry:
    the historical model has the same fields)."""
    articles = [make_article() for _ in STORED_BODIES]
    for article, body in zip(articles, STORED_BODIES, strict=True):
        Article.objects.filter(pk=article.pk).update(body=body)

    MIGRATION.bodies_to_html(installed_apps, None)
    html = {a.pk: a.body for a in Article.objects.all()}
    second = html[articles[1].pk]
    assert second == (
        "<p>First &amp; &lt;b&gt;not markup&lt;/b&gt;.</p>\n"
        "<p>Second, with a \"quote\" and 'apostrophe'.</p>"
    )
    for article in Article.objects.all():
        assert richtext.clean(article.body) == article.body
        assert article.body_text == richtext.to_text(article.body)

    MIGRATION.bodies_to_text(installed_apps, None)
    restored = [Article.objects.get(pk=a.pk).body for a in articles]
    assert restored == STORED_BODIES


# Serialized rollback: the rows migrations made (content types) come back for
# the transactional tests after this one, as tests/test_search.py expects.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_migration_runs_both_ways_with_the_search_index():
    executor = MigrationExecutor(connection)
    before = [("articles", "0012_article_version_person_timestamps")]
    latest = executor.loader.graph.leaf_nodes("articles")
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("articles", "Article")
    old.objects.create(
        headline="Glacier",
        slug="glacier",
        # (PostgreSQL's parser skips "<word>" as a tag: the markup is elsewhere.)
        body="Ice melts <fast>.\n\nCold.",
        status="published",
        published_at="2024-01-01T00:00:00Z",
    )
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    article = Article.objects.get()
    assert article.body == "<p>Ice melts &lt;fast&gt;.</p>\n<p>Cold.</p>"
    assert found("melts") == ["glacier"]
    assert found("p") == []

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM articles_article")
        assert cursor.fetchone()[0] == "Ice melts <fast>.\n\nCold."
    executor = MigrationExecutor(connection)
    executor.migrate(latest)
    assert found("cold") == ["glacier"]


# The importer ------------------------------------------------------------------


def test_markup_in_an_imported_file_shows_as_text(tmp_path, client):
    from tests.test_importer import story

    path = write(tmp_path, "story.txt", story(body=["A <b>bold</b> & claim."]))
    assert run_import(path).exit_code == 0
    article = Article.objects.get()
    assert article.body == "<p>A &lt;b&gt;bold&lt;/b&gt; &amp; claim.</p>"
    assert "A &lt;b&gt;bold&lt;/b&gt; &amp; claim." in page(client, article)
    assert run_import(path).summary == (
        "created 0, updated 0, unchanged 1, skipped 0, failed 0"
    )


def every_character_in_paragraphs(per_paragraph=2000, leaving_out=""):
    """Every character Python strings hold (not surrogates), in the paragraphs
    and lines of a body as the importer builds it."""
    characters = [
        chr(point)
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF and chr(point) not in leaving_out
    ]
    return [
        "x " + "".join(characters[start : start + per_paragraph]) + " x"
        for start in range(0, len(characters), per_paragraph)
    ]


@pytest.mark.parametrize(
    "paragraphs",
    [
        ["One.", "Two & <three> \xa0four\xa0."],
        ["A line\nand the next", "", "  spaced  "],
        ["Carriage\rreturn and NUL\0 go through the sanitiser"],
        # All but the two that send it through the sanitiser: the shortcut.
        every_character_in_paragraphs(leaving_out="\0\r"),
    ],
    ids=["entities", "lines", "rewritten-characters", "every-other-character"],
)
def test_body_built_from_text_is_what_the_sanitiser_writes(paragraphs):
    # from_paragraphs skips the sanitiser when it would change nothing.
    html = "\n".join(
        "<p>{}</p>".format(
            "<br>".join(escape(line, quote=False) for line in text.split("\n"))
        )
        for text in paragraphs
    )
    assert richtext.from_paragraphs(paragraphs) == richtext._cleaner().clean(html)


def test_imported_body_is_clean_and_its_text_is_its_paragraphs():
    # The importer stores the body and its text without cleaning again.
    # Paragraphs as parse_article makes them: lines, no space at either end.
    paragraphs = [
        text.strip()
        for text in every_character_in_paragraphs(500, leaving_out="\0\r\n")
    ]
    parsed = ParsedArticle("Headline", "", tuple(paragraphs))
    assert richtext.clean_with_text(parsed.body) == (parsed.body, parsed.body_text)


# Story links -------------------------------------------------------------------


def test_story_link_follows_a_slug_change_without_a_redirect(client):
    target = make_article(slug="old-address")
    article = make_article(body=f'<p>See <a data-story="{target.pk}">this</a>.</p>')
    target.slug = "new-address"
    target.save()
    body = story_body_html(page(client, article))
    assert '<a href="/articles/new-address/">this</a>' in body
    assert client.get("/articles/new-address/").status_code == 200


@pytest.mark.parametrize("gone", ["unpublished", "deleted"])
def test_link_to_an_unpublished_or_deleted_story_is_plain_text(client, gone):
    target = make_article(slug="target")
    article = make_article(body=f'<p>See <a data-story="{target.pk}">this</a>.</p>')
    if gone == "deleted":
        target.delete()
    else:
        target.status = Article.Status.DRAFT
        target.save()
    body = story_body_html(page(client, article))
    assert "<p>See this.</p>" in body


# Inline photos -----------------------------------------------------------------


def test_inline_photo_renders_like_the_lead_photo(client):
    image = make_image(alt_text="Smoke over the port", caption="The port", credit="AP")
    article = make_article(body=f'<p>a</p><figure data-image="{image.pk}"></figure>')
    body = story_body_html(page(client, article))
    figure = re.search(r'<figure class="inline-figure">.*?</figure>', body, re.S)[0]
    assert '<source type="image/avif" srcset="' in figure
    assert '<source type="image/webp" srcset="' in figure
    assert re.search(r'<img src="[^"]+\.jpg" srcset="[^"]+ 480w', figure)
    assert 'width="1000" height="750"' in figure
    assert 'alt="Smoke over the port"' in figure
    assert 'loading="lazy"' in figure
    assert '<span class="caption">The port</span>' in figure
    assert '<span class="credit">Photograph: AP</span>' in figure


def test_change_form_names_the_photos_in_the_body_for_the_editor(editor_client):
    image = make_image(caption="Smoke over the port")
    article = make_article(body=f'<figure data-image="{image.pk}"></figure>')
    html = editor_client.get(change_url(article)).content.decode()
    assert (
        f'data-photo-labels="{{&quot;{image.pk}&quot;: &quot;Smoke over the port'
        in html
    )
    assert '<script src="/static/admin/articles/body-editor.js" type="module">' in html


def test_photo_without_alt_text_cannot_go_into_a_published_story(editor_client):
    image = make_image(alt_text="")
    article = make_article(body="<p>a</p>")
    body = f'<p>a</p><figure data-image="{image.pk}"></figure>'
    response = save_in_admin(editor_client, article, body=body)
    assert response.status_code == 200
    assert "A photo in the story has no alt text" in str(
        response.context["adminform"].form.errors["body"]
    )
    assert Article.objects.get(pk=article.pk).body == "<p>a</p>"
    response = save_in_admin(editor_client, article, body=body, status="draft")
    assert response.status_code == 302


def test_publish_action_skips_a_story_with_a_photo_without_alt_text(editor_client):
    image = make_image(alt_text="")
    blocked = make_article(
        status=Article.Status.DRAFT,
        published_at=None,
        body=f'<figure data-image="{image.pk}"></figure>',
    )
    fine = make_article(status=Article.Status.DRAFT, published_at=None)
    response = editor_client.post(
        reverse("admin:articles_article_changelist"),
        {
            "action": "publish",
            "_selected_action": [blocked.pk, fine.pk],
            "confirm": "yes",
        },
        follow=True,
    )
    assert list(Article.objects.published()) == [fine]
    assert "a photo in the story has no alt text: " + blocked.headline in (
        response.content.decode()
    )


def test_photo_used_inline_cannot_be_deleted_in_code_or_admin(superuser_client):
    image = make_image()
    article = make_article(
        headline="Port fire", body=f'<figure data-image="{image.pk}"></figure>'
    )
    make_article(body=f"<p>Mentions data-image=&quot;{image.pk}&quot; as text.</p>")
    with pytest.raises(ProtectedError) as error:
        image.delete()
    assert "Port fire" in str(error.value)
    with pytest.raises(ProtectedError), transaction.atomic():
        Image.objects.filter(pk=image.pk).delete()

    url = reverse("admin:articles_image_delete", args=[image.pk])
    response = superuser_client.get(url)
    assert "Cannot delete image" in response.content.decode()
    assert "Port fire</a> (photo in the story)" in response.content.decode()
    response = superuser_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    assert Image.objects.filter(pk=image.pk).exists()

    article.body = "<p>No photo now.</p>"
    article.save()
    image.delete()


def test_alt_text_of_a_photo_shown_inline_cannot_be_blanked():
    from django.core.exceptions import ValidationError

    image = make_image()
    make_article(body=f'<figure data-image="{image.pk}"></figure>')
    image.alt_text = ""
    with pytest.raises(ValidationError):
        image.full_clean()


@pytest.mark.parametrize(("photos", "links"), [(1, 1), (10, 20)])
def test_article_page_query_count_is_flat(
    client, django_assert_num_queries, photos, links
):
    images = [make_image() for _ in range(photos)]
    targets = [make_article() for _ in range(links)]
    body = "".join(f'<figure data-image="{i.pk}"></figure>' for i in images) + "".join(
        f'<p><a data-story="{t.pk}">link {n}</a></p>' for n, t in enumerate(targets)
    )
    article = make_article(body=body)
    # The article page's four without "More on this" (tests/test_views.py:
    # article, its topics and people, bylines, versions): the linked stories
    # and the photos come with its topics and people.
    with django_assert_num_queries(4):
        html = page(client, article)
    assert story_body_html(html).count('class="inline-figure"') == photos
    assert story_body_html(html).count('<a href="/articles/') == links


# Everything that reads the body ------------------------------------------------


def found(text):
    results = search_articles(parse_query(text))
    return [hit.article.slug for hit in results[: results.count()]]


def test_search_indexes_the_text_not_the_markup():
    make_article(slug="rich", body=EVERY_ELEMENT.replace("Sub heading", "Avalanche"))
    make_article(slug="plain", body="<p>Nothing special.</p>")
    assert found("strong href") == []
    assert found("blockquote") == []
    assert found("avalanche") == ["rich"]


def test_formatting_only_change_is_not_an_update():
    article = make_article(body="<p>Facts stay the same.</p>")
    article.body = "<h2>Facts stay the same.</h2>"
    article.save()
    assert article.text_updated_at is None
    article.body = "<h2>Facts changed.</h2>"
    article.save()
    assert article.text_updated_at is not None


def test_revision_diff_compares_text_and_names_formatting_changes(editor_client):
    article = make_article(body="<p>The minister resigned.</p>")
    save_in_admin(editor_client, article)
    save_in_admin(editor_client, article, body="<p>The <em>minister</em> resigned.</p>")
    save_in_admin(editor_client, article, body="<p>The <em>minister</em> stayed.</p>")
    first, second, third = article_history(article)
    (formatting,) = field_changes(first.snapshot, second.snapshot)
    assert formatting.label == "Body"
    assert formatting.after == "Formatting changed; the text is the same."
    (wording,) = field_changes(second.snapshot, third.snapshot)
    assert wording.before == "The minister <del>resigned.</del>"
    assert wording.after == "The minister <ins>stayed.</ins>"


def test_descriptions_reading_time_and_json_ld_use_the_text(client):
    words = " ".join(["word"] * 458)  # 460 with the heading: two minutes
    article = make_article(
        standfirst="", body=f"<h2>Heading <em>here</em></h2><p>{words}</p>"
    )
    html = page(client, article)
    assert '<meta name="description" content="Heading here">' in html
    assert "2 min read" in html
    data = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', html).group(1)
    )
    assert data["articleBody"] == f"Heading here\n\n{words}"


def test_feeds_carry_the_rich_body_with_absolute_links_and_photos(client, settings):
    image = make_image(alt_text="Smoke", caption="The port", credit="AP")
    target = make_article(slug="target")
    make_article(
        slug="rich",
        body=EVERY_ELEMENT
        + f'<p><a data-story="{target.pk}">inside</a></p>'
        + f'<figure data-image="{image.pk}"></figure>',
    )
    for url in ("/feeds/rss/", "/feeds/atom/"):
        feed = feedparser.parse(client.get(url).content)
        assert not feed.bozo, feed.bozo_exception
        entry = next(e for e in feed.entries if e.link.endswith("/articles/rich/"))
        html = entry.content[0].value if "content" in entry else entry.description
        assert f'href="{settings.SITE_URL}/articles/target/"' in html
        assert re.search(rf'<img[^>]+src="{settings.SITE_URL}/media/[^"]+\.jpg"', html)
        assert "<h2>Sub heading</h2>" in html
        assert "<blockquote>" in html


@pytest.mark.parametrize("stories", [1, 10])
def test_feed_query_count_is_flat_with_rich_bodies(
    client, django_assert_max_num_queries, stories
):
    image = make_image()
    target = make_article()
    for _ in range(stories):
        make_article(
            body=f'<p><a data-story="{target.pk}">a</a></p>'
            f'<figure data-image="{image.pk}"></figure>'
        )
    # The feed's own queries (the same for one story or ten, as
    # tests/test_feeds.py counts them) and one each for links and photos.
    with django_assert_max_num_queries(7) as captured:
        response = client.get("/feeds/atom/")
    assert response.content.decode().count("&lt;figure&gt;") == stories
    photo_queries = [
        query
        for query in captured.captured_queries
        if 'FROM "articles_image" WHERE' in query["sql"]
    ]
    assert len(photo_queries) == 1
