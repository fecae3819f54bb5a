from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles import search
from articles.models import Article
from articles.search import (
    MATCH_END,
    MATCH_START,
    MAX_QUERY_LENGTH,
    marked_html,
    parse_query,
    ranked_matches,
    search_articles,
)
from tests.conftest import make_article

# What the views do themselves; the page cache in front is tests/test_cache.py's.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_page_cache")]

SEARCH_URL = reverse("articles:search")
on_sqlite = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite only")
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL only"
)


def found(text):
    """Slugs of the articles a search finds, best first."""
    results = search_articles(parse_query(text))
    return [hit.article.slug for hit in results[: results.count()]]


def search_page(client, text, **params):
    response = client.get(SEARCH_URL, {"q": text, **params})
    assert response.status_code == 200
    assert "private" in response.headers["Cache-Control"]
    return response


# Reading the reader's input


def test_query_is_split_into_words_without_any_syntax():
    query = parse_query('  "glacier" AND (melt* OR NEAR(ice sheet)) -- ;  ')

    assert query.terms == ("glacier", "melt", "NEAR", "ice", "sheet")
    assert not query.truncated


def test_query_is_cut_to_the_maximum_length_and_says_so():
    query = parse_query("word " * 2000)

    assert len(query.text) <= MAX_QUERY_LENGTH
    assert query.truncated
    assert query.terms == ("word",)


def test_control_characters_and_match_markers_never_reach_the_query():
    query = parse_query(f"ice\x00berg {MATCH_START}melt{MATCH_END}\x1b")

    assert query.text == "ice berg melt"
    assert query.terms == ("ice", "berg", "melt")


def test_words_too_common_to_search_for_are_left_out(client):
    make_article(headline="The glacier and the sea")

    assert parse_query("The glacier AND the sea").terms == ("glacier", "sea")
    html = search_page(client, "the and of").content.decode()
    assert "try more specific words" in html


def test_words_in_any_script_are_kept_and_emoji_dropped():
    assert parse_query("Москва 中国经济 🔥 café").terms == (
        "Москва",
        "中国经济",
        "café",
    )


def test_marked_html_escapes_text_and_keeps_marks_balanced():
    html = marked_html(
        f"<b>{MATCH_START}ice{MATCH_END}</b> & {MATCH_END}x{MATCH_START}y"
    )

    assert html == "&lt;b&gt;<mark>ice</mark>&lt;/b&gt; &amp; x<mark>y</mark>"


# Finding and ranking


def test_finds_words_in_headline_standfirst_and_body():
    make_article(slug="in-headline", headline="Glacier retreats")
    make_article(slug="in-standfirst", standfirst="A glacier is melting.")
    make_article(slug="in-body", body="Intro.\n\nThe glacier shrank again.")
    make_article(slug="elsewhere", headline="Budget talks")

    assert set(found("glacier")) == {"in-headline", "in-standfirst", "in-body"}


def test_headline_match_ranks_above_standfirst_above_body():
    # Newest first by date, so only the ranking can put them in this order.
    make_article(
        slug="in-body",
        body="A long report.\n\nThe glacier shrank.",
        published_at=timezone.now() - timedelta(minutes=1),
    )
    make_article(
        slug="in-standfirst",
        standfirst="The glacier story.",
        published_at=timezone.now() - timedelta(minutes=2),
    )
    make_article(
        slug="in-headline",
        headline="Glacier shrinks",
        published_at=timezone.now() - timedelta(minutes=3),
    )

    assert found("glacier") == ["in-headline", "in-standfirst", "in-body"]


def test_every_word_must_match():
    make_article(slug="both", body="The glacier melted in the heat.")
    make_article(slug="one", body="The glacier grew.")

    assert found("glacier heat") == ["both"]


def test_other_forms_of_a_word_match():
    make_article(slug="floods", headline="Floods hit the valley")

    assert found("flooding") == ["floods"]


def test_drafts_and_future_articles_are_never_found():
    make_article(slug="live", headline="Glacier live")
    make_article(slug="draft", headline="Glacier draft", status=Article.Status.DRAFT)
    make_article(
        slug="scheduled",
        headline="Glacier scheduled",
        published_at=timezone.now() + timedelta(hours=1),
    )

    assert found("glacier") == ["live"]
    assert search_articles(parse_query("glacier")).count() == 1


def test_index_follows_edits_deletes_updates_and_bulk_imports():
    article = make_article(slug="edited", headline="Glacier report")
    gone = make_article(slug="deleted", headline="Glacier obituary")

    article.headline = "Volcano report"
    article.save()
    gone.delete()
    assert found("glacier") == []
    assert found("volcano") == ["edited"]

    # The index reads body_text (the body's words without markup), which
    # save() derives from the body; an update() writes both.
    Article.objects.filter(pk=article.pk).update(
        body="<p>Lava reached the sea.</p>", body_text="Lava reached the sea."
    )
    assert found("lava") == ["edited"]

    Article.objects.bulk_create(
        [
            Article(
                headline="Imported tundra story",
                slug="imported",
                body="Text.",
                status=Article.Status.PUBLISHED,
                published_at=timezone.now(),
            )
        ]
    )
    assert found("tundra") == ["imported"]


def test_publishing_a_draft_makes_it_findable():
    draft = make_article(slug="draft", headline="Tundra", status="draft")
    assert found("tundra") == []

    Article.objects.filter(pk=draft.pk).update(status=Article.Status.PUBLISHED)

    assert found("tundra") == ["draft"]


def test_words_in_other_scripts_are_found():
    make_article(slug="moscow", body="Встреча прошла в Москве. Москва ответила.")
    make_article(slug="china", body="报道: 中国经济 增长")

    assert found("Москва") == ["moscow"]
    assert found("中国经济") == ["china"]


# The results page


def test_results_page_highlights_matches_and_keeps_text_escaped(client):
    make_article(
        slug="risky",
        headline="Glacier <em>news</em>",
        standfirst="",
        body="Intro.\n\n<script>alert(1)</script> The glacier & the sea.",
    )

    html = search_page(client, "glacier").content.decode()

    assert "<mark>Glacier</mark> &lt;em&gt;news&lt;/em&gt;" in html
    assert "The <mark>glacier</mark> &amp; the sea." in html
    # PostgreSQL's passages leave out tag-like text; SQLite's escape it.
    assert "<script" not in html
    assert 'href="/articles/risky/"' in html


def test_passage_comes_from_the_standfirst_or_body_that_matches(client):
    make_article(
        headline="Weather",
        standfirst="A quiet summary.",
        body="Nothing here.\n\n" + "Filler words. " * 40 + "The fjord froze.",
    )

    hit = search_articles(parse_query("fjord"))[0:1][0]

    assert "<mark>fjord</mark> froze" in hit.passage
    assert "quiet summary" not in hit.passage


def test_results_are_paginated(client):
    for number in range(25):
        make_article(slug=f"tundra-{number}", headline=f"Tundra report {number}")

    first = search_page(client, "tundra")
    second = search_page(client, "tundra", page=2)

    assert first.context["page_obj"].paginator.count == 25
    assert len(first.context["page_obj"]) == 20
    assert len(second.context["page_obj"]) == 5
    assert "page=2" in first.content.decode()
    slugs = [
        hit.article.slug for page in (first, second) for hit in page.context["page_obj"]
    ]
    assert sorted(slugs) == sorted(f"tundra-{number}" for number in range(25))


def test_only_the_newest_matches_are_ranked_and_the_count_says_there_are_more(
    client, monkeypatch
):
    monkeypatch.setattr(search, "MAX_RANKED", 5)
    now = timezone.now()
    for number in range(8):
        # The oldest say it most often: ranked over all, they would lead.
        make_article(
            slug=f"tundra-{number}",
            headline="Tundra tundra tundra" if number >= 5 else "Tundra",
            published_at=now - timedelta(hours=number),
        )
    make_article(slug="draft", headline="Tundra", status=Article.Status.DRAFT)

    response = search_page(client, "tundra")

    assert response.context["page_obj"].paginator.count == 5
    assert "5+ results" in response.content.decode()
    assert sorted(found("tundra")) == [f"tundra-{number}" for number in range(5)]


def test_count_is_exact_up_to_the_bound(client, monkeypatch):
    monkeypatch.setattr(search, "MAX_RANKED", 5)
    for number in range(5):
        make_article(headline=f"Tundra {number}")
    make_article(headline="Tundra soon", published_at=timezone.now() + timedelta(1))

    response = search_page(client, "tundra")

    assert "5 results." in response.content.decode()
    assert not response.context["page_obj"].paginator.object_list.more


def test_large_counts_are_shown_with_thousands_separators(client, monkeypatch):
    monkeypatch.setattr(search, "MAX_RANKED", 1000)
    Article.objects.bulk_create(
        Article(
            headline=f"Tundra {number}",
            slug=f"tundra-{number}",
            body="Text.",
            status=Article.Status.PUBLISHED,
            published_at=timezone.now() - timedelta(minutes=number),
        )
        for number in range(1001)
    )

    html = search_page(client, "tundra").content.decode()

    assert "1,000+ results, page 1 of 50." in html


def test_admin_search_ranks_the_newest_matches_drafts_included(monkeypatch):
    monkeypatch.setattr(search, "MAX_RANKED", 3)
    now = timezone.now()
    for number in range(5):
        make_article(
            slug=f"tundra-{number}",
            headline="Tundra",
            status=Article.Status.DRAFT if number == 1 else Article.Status.PUBLISHED,
            published_at=now - timedelta(hours=number),
        )

    matches = ranked_matches(parse_query("tundra"), Article.objects.all())

    assert sorted(article.slug for article in matches) == [
        "tundra-0",
        "tundra-1",
        "tundra-2",
    ]


@on_postgresql
def test_passage_is_highlighted_from_the_start_of_a_long_body():
    filler = "Words about other things. " * (search.EXCERPT_LENGTH // 20)
    make_article(headline="Report", body=f"{filler}\n\nThe fjord froze at last.")

    (hit,) = search_articles(parse_query("fjord"))[:1]

    assert hit.headline == "Report"
    assert "<mark>" not in hit.passage


@pytest.mark.parametrize("page", ["abc", "-1", "0", "99999", "1e9", "\x00"])
def test_any_page_number_gives_a_page(client, page):
    make_article(headline="Tundra")

    search_page(client, "tundra", page=page)


def test_results_page_runs_a_fixed_number_of_queries(client, django_assert_num_queries):
    for number in range(30):
        make_article(headline=f"Tundra {number}")

    # The count, the ranked and highlighted page, the page's articles.
    with django_assert_num_queries(3):
        search_page(client, "tundra")


def test_empty_search_shows_the_form_without_querying(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = search_page(client, "")

    assert "Type a word" in response.content.decode()


def test_every_page_has_the_search_box_in_its_header(client):
    html = client.get(reverse("articles:home")).content.decode()

    header = html[html.index("<header") : html.index("</header>")]
    assert f'action="{SEARCH_URL}"' in header
    assert 'name="q"' in header
    assert f'maxlength="{MAX_QUERY_LENGTH}"' in header


def test_search_box_shows_the_current_query(client):
    html = search_page(client, 'ice "sheet"').content.decode()

    assert 'value="ice &quot;sheet&quot;"' in html


HOSTILE_INPUTS = [
    '"',
    '""',
    '"glacier',
    "glacier\"'",
    "*",
    "glacier*",
    "AND (",
    "glacier AND (",
    "OR",
    "NOT glacier",
    "-glacier",
    "NEAR(",
    "NEAR(glacier melt, 2)",
    "headline:glacier",
    "{headline standfirst}: glacier",
    "^glacier",
    "glacier + +",
    "( ) ) (",
    "'; DROP TABLE articles_article; --",
    "' OR '1'='1",
    "1; SELECT * FROM auth_user",
    "%",
    "_",
    "\\",
    "glacier & | ! <->",
    "glacier:*",
    "\x00",
    "glacier\x00melt",
    "x" * 10_240,
    "glacier " * 2_000,
    "Москва",
    "中国经济",
    "🔥🧊🌍",
    "مرحبا بالعالم",
    "\u200b\u200d\ufeff",
    "\U0001f600glacier\U0001f600",
]


@pytest.mark.parametrize("text", HOSTILE_INPUTS)
def test_any_input_gives_a_page_never_an_error(client, text):
    make_article(slug="glacier", headline="Glacier melt", body="The ice went.")

    response = search_page(client, text)

    html = response.content.decode()
    assert "<h1>" in html
    assert "<script" not in html.lower()


@pytest.mark.parametrize(
    "text",
    ['"glacier', "glacier*", "glacier AND (", "-glacier", "glacier\x00", "^glacier"],
)
def test_syntax_around_a_word_is_ignored_and_the_word_found(text):
    make_article(slug="glacier", headline="Glacier melt")

    assert found(text) == ["glacier"]


def test_very_long_input_is_cut_and_the_reader_told(client):
    make_article(slug="glacier", headline="Glacier melt")

    response = search_page(client, "glacier " + "x" * 10_240)

    html = response.content.decode()
    assert f"first {MAX_QUERY_LENGTH} characters" in html
    assert [hit.article.slug for hit in response.context["page_obj"]] == []
    assert len(response.context["search_query"].text) <= MAX_QUERY_LENGTH


def test_search_pages_are_kept_out_of_search_engines(client):
    html = search_page(client, "glacier").content.decode()

    assert '<meta name="robots" content="noindex">' in html


# Keeping the index in step


@on_sqlite
# Serialized rollback: a transactional test before this one may have emptied the
# tables that migrations fill (content types), which revisions point at.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_index_survives_a_migration_that_rebuilds_the_article_table():
    # On SQLite, Django applies most column changes by copying the table into
    # a new one, which drops the old table's triggers; migrate restores them.
    make_article(slug="before", headline="Glacier before")
    with connection.schema_editor() as editor:
        editor._remake_table(Article)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        assert not [row for row in cursor.fetchall() if "fts" in row[0]]

    call_command("migrate", verbosity=0)
    make_article(slug="after", headline="Glacier after")

    assert sorted(found("glacier")) == ["after", "before"]


def index_queries(text):
    """The SQL of the queries a search runs against the full-text index."""
    with CaptureQueriesContext(connection) as captured:
        found(text)
    return [
        query["sql"]
        for query in captured.captured_queries
        if "MATCH" in query["sql"] or "search_document" in query["sql"]
    ]


@on_sqlite
def test_sqlite_search_reads_the_fts_index_and_never_the_whole_table():
    make_article(headline="Glacier")

    queries = index_queries("glacier")

    assert len(queries) == 2  # the count and the ranked page
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert "VIRTUAL TABLE INDEX" in plan
            # Articles are read by id, or newest first by the publish index.
            assert "SCAN articles_article " not in plan


@on_postgresql
def test_postgresql_search_uses_the_gin_index():
    Article.objects.bulk_create(
        Article(
            headline="Tundra" if number % 100 == 0 else f"Budget {number}",
            slug=f"story-{number}",
            body="Text.",
            status=Article.Status.PUBLISHED,
            published_at=timezone.now() - timedelta(minutes=number),
        )
        for number in range(500)
    )

    queries = index_queries("tundra")

    assert len(queries) == 2  # the count and the ranked page
    with connection.cursor() as cursor:
        # Leave the planner only two ways in, reading the whole table or the GIN
        # index, and make the first look dear: the index must fit the query.
        # (The test's transaction rolls this back.)
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'articles_article' "
            "AND indexname <> 'articles_article_search_document' "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%%'"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{index}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in queries:
            cursor.execute(f"EXPLAIN {sql}")
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "Bitmap Index Scan on articles_article_search_document" in plan


def merge_pending_search_entries():
    """Merge the GIN index's pending list now; how many pages it held."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list(%s::regclass)",
            ["articles_article_search_document"],
        )
        return cursor.fetchone()[0]


@on_postgresql
def test_postgresql_import_leaves_no_pending_search_entries(tmp_path):
    """New stories' words wait in the index's pending list (cheap to insert);
    an import merges them at each batch, so a large import never leaves the
    planner a long list to read past (which made it shy of the index)."""
    merge_pending_search_entries()
    for number in range(40):
        make_article(headline=f"Tundra story {number}", body="<p>Reindeer.</p>" * 50)
    assert merge_pending_search_entries() > 0  # Saved one by one: they waited.

    for number in range(40):
        (tmp_path / f"{number}.txt").write_text(
            f"Tundra import {number}\nStandfirst.\n\n" + "Reindeer herding.\n" * 50
        )
    call_command("import_articles", str(tmp_path), verbosity=0)

    assert Article.objects.filter(headline__startswith="Tundra import").count() == 40
    assert merge_pending_search_entries() == 0


@on_postgresql
def test_postgresql_admin_search_reads_the_newest_matches_once():
    for number in range(5):
        make_article(headline=f"Tundra {number}", status=Article.Status.DRAFT)

    matches = ranked_matches(parse_query("tundra"), Article.objects.all())

    # A subquery naming the outer table would run once per article.
    sql, params = matches.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "SubPlan" not in plan
    assert len(matches) == 5
