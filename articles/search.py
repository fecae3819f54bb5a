"""Full-text search over articles: the one search mechanism.

`search_articles()` is the readers' entry point (published articles, a page of
highlighted hits at a time); `ranked_matches()` narrows any QuerySet of
articles, drafts too, to the matches with their rank (the admin's change list).
Both hide two backends:

- SQLite: an FTS5 table with external content over `articles_article`, kept in
  step by SQL triggers, so every save, delete, import and `QuerySet.update()` is
  indexed whatever code made it.
- PostgreSQL: a `tsvector` column kept in step by a trigger, with a GIN index,
  queried through `django.contrib.postgres.search`.

Neither the model nor its migrations' state knows about these structures: the
`0003_search_index` migration creates them with `create_index()`.

Work is bounded whatever the query: only the newest `MAX_RANKED` matches are
ranked (a common word matches most of the archive, and ranking all of it costs
a read of every match's index entry), the count stops one past that, and the
body's passage is highlighted from its first `EXCERPT_LENGTH` characters.

A reader's input never reaches MATCH or `to_tsquery` as syntax: it is cut to
`MAX_QUERY_LENGTH`, split into words here, and each word is passed on as a
quoted FTS5 string or as plain text to `plainto_tsquery`.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.models import Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Left
from django.utils.html import escape
from django.utils.safestring import mark_safe

from articles.models import Article

MAX_QUERY_LENGTH = 200
# Only the newest this many matches are ranked, paged and counted.
MAX_RANKED = 1000
# The body's best passage is looked for in its first this many characters.
EXCERPT_LENGTH = 5000

# The database wraps each match in these; they are removed from readers' input,
# and `marked_html()` turns them into <mark> once the text is escaped.
MATCH_START = "\x02"
MATCH_END = "\x03"

# Letters and digits in any script, as both databases split words: underscores,
# punctuation, symbols and emoji separate words and are never searched for.
_WORD = re.compile(r"[^\W_]+")
# PostgreSQL's English stop words: too common to search for, so both backends
# leave them out (SQLite's index keeps them, PostgreSQL's does not).
_STOP_WORDS = """
    i me my myself we our ours ourselves you your yours yourself yourselves he
    him his himself she her hers herself it its itself they them their theirs
    themselves what which who whom this that these those am is are was were be
    been being have has had having do does did doing a an the and but if or
    because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under
    again further then once here there when where why how all any both each few
    more most other some such no nor not only own same so than too very s t can
    will just don should now
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARKER = re.compile(f"([{MATCH_START}{MATCH_END}])")


@dataclass(frozen=True)
class Query:
    text: str  # the reader's input as searched for, to show back on the page
    terms: tuple[str, ...]
    truncated: bool  # the input was longer than MAX_QUERY_LENGTH


def parse_query(raw):
    """Turn whatever a reader typed into a length-capped list of words."""
    raw = raw or ""
    truncated = len(raw) > MAX_QUERY_LENGTH
    text = unicodedata.normalize("NFKC", raw[:MAX_QUERY_LENGTH])
    text = " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())
    words = [word for word in _WORD.findall(text) if word.lower() not in STOP_WORDS]
    terms = tuple(dict.fromkeys(words))
    return Query(text=text, terms=terms, truncated=truncated)


def marked_html(text):
    """Escape text from the index and turn its match markers into <mark>.

    A stored text could contain the marker characters itself, so an unpaired
    marker is dropped rather than allowed to leave a <mark> open.
    """
    html = []
    in_mark = False
    for piece in _MARKER.split(text or ""):
        if piece == MATCH_START:
            if not in_mark:
                html.append("<mark>")
            in_mark = True
        elif piece == MATCH_END:
            if in_mark:
                html.append("</mark>")
            in_mark = False
        else:
            html.append(escape(piece))
    if in_mark:
        html.append("</mark>")
    return mark_safe("".join(html))


@dataclass(frozen=True)
class SearchHit:
    article: Article
    rank: float
    headline: str  # HTML: the escaped headline with its matches in <mark>
    passage: str  # HTML: the best matching passage, likewise


@dataclass(frozen=True)
class _Row:
    article_id: int
    rank: float
    headline: str
    standfirst: str
    body: str

    def passage(self):
        """The standfirst when it matches, else the body's best passage."""
        for text in (self.standfirst, self.body):
            if text and MATCH_START in text:
                return text
        return self.standfirst or self.body


class SearchResults:
    """The ranked matches for one query, read a page (a slice) at a time.

    Django's Paginator takes it as its object list. It holds at most the
    newest MAX_RANKED matches; `more` says whether there were more than that.
    """

    def __init__(self, query):
        self.query = query
        self._index = _index_for(connection.vendor)

    @cached_property
    def _matches(self):
        """Published matches, counted up to one past MAX_RANKED."""
        if not self.query.terms:
            return 0
        return self._index.count(self.query.terms, MAX_RANKED + 1)

    @cached_property
    def _count(self):
        return min(self._matches, MAX_RANKED)

    @property
    def more(self):
        """More stories match than were ranked: the count shows as "1,000+"."""
        return self._matches > MAX_RANKED

    def count(self):
        return self._count

    def __len__(self):
        return self._count

    def __getitem__(self, page):
        if not isinstance(page, slice) or page.step is not None:
            raise TypeError("Search results are read a page (a slice) at a time.")
        offset = page.start or 0
        limit = (self._count if page.stop is None else page.stop) - offset
        if not self.query.terms or limit <= 0:
            return []
        rows = self._index.page(self.query.terms, offset, limit)
        articles = (
            Article.objects.published()
            .defer("standfirst", "body", "body_text")
            .in_bulk([row.article_id for row in rows])
        )
        return [
            SearchHit(
                article=articles[row.article_id],
                rank=row.rank,
                headline=marked_html(row.headline),
                passage=marked_html(row.passage()),
            )
            for row in rows
            # Unpublished between the two queries.
            if row.article_id in articles
        ]


def search_articles(query):
    """Published articles matching a parsed query, best first."""
    return SearchResults(query)


def ranked_matches(query, articles):
    """The newest MAX_RANKED articles of a QuerySet that match a parsed query,
    best first.

    Each is annotated with `search_rank` (higher is better); drafts are found
    as well as published stories when `articles` holds them.
    """
    if not query.terms:
        return articles.none().annotate(search_rank=Value(0.0))
    index = _index_for(connection.vendor)
    newest, params = _newest_sql(index, articles, query.terms)
    candidates = index.among(articles, newest, params)
    return index.ranked(candidates, query.terms).order_by("-search_rank", "-pk")


# Which matches are ranked when there are too many: the newest, as listed.
NEWEST_FIRST = Article._meta.ordering


def _newest_sql(index, articles, terms):
    """SQL and params for the ids of the newest MAX_RANKED matches among articles.

    A query of its own, not a subquery Django would alias: PostgreSQL's index
    column is named by its table, which must be this query's own.
    """
    newest = index.matches(articles, terms).order_by(*NEWEST_FIRST)
    return newest.values("pk")[:MAX_RANKED].query.sql_with_params()


class _SQLiteIndex:
    table = "articles_article_fts"
    # Weights of headline, standfirst and body in the bm25 rank.
    weights = "10.0, 4.0, 1.0"
    rank = f"bm25({weights})"
    tokenizer = "porter unicode61 remove_diacritics 2"
    triggers = {
        "articles_article_fts_insert": """
            CREATE TRIGGER articles_article_fts_insert
            AFTER INSERT ON articles_article BEGIN
                INSERT INTO articles_article_fts (rowid, headline, standfirst, {body})
                VALUES (new.id, new.headline, new.standfirst, new.{body});
            END""",
        "articles_article_fts_delete": """
            CREATE TRIGGER articles_article_fts_delete
            AFTER DELETE ON articles_article BEGIN
                INSERT INTO articles_article_fts
                    (articles_article_fts, rowid, headline, standfirst, {body})
                VALUES ('delete', old.id, old.headline, old.standfirst, old.{body});
            END""",
        "articles_article_fts_update": """
            CREATE TRIGGER articles_article_fts_update
            AFTER UPDATE OF id, headline, standfirst, {body} ON articles_article
            WHEN old.id IS NOT new.id OR old.headline IS NOT new.headline
                OR old.standfirst IS NOT new.standfirst OR old.{body} IS NOT new.{body}
            BEGIN
                INSERT INTO articles_article_fts
                    (articles_article_fts, rowid, headline, standfirst, {body})
                VALUES ('delete', old.id, old.headline, old.standfirst, old.{body});
                INSERT INTO articles_article_fts (rowid, headline, standfirst, {body})
                VALUES (new.id, new.headline, new.standfirst, new.{body});
            END""",
    }

    def create(self, cursor):
        # An external-content table: its columns are named as the table's.
        cursor.execute(
            f"CREATE VIRTUAL TABLE {self.table} USING fts5("
            f"headline, standfirst, {indexed_body(cursor)}, "
            "content='articles_article', "
            f"content_rowid='id', tokenize='{self.tokenizer}')"
        )
        cursor.execute(
            f"INSERT INTO {self.table} ({self.table}, rank) "
            f"VALUES ('rank', '{self.rank}')"
        )
        self._create_triggers(cursor)
        # Indexes the articles already there.
        cursor.execute(f"INSERT INTO {self.table} ({self.table}) VALUES ('rebuild')")

    def drop(self, cursor):
        for name in self.triggers:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {self.table}")

    def repair(self, cursor):
        """Put back the triggers a rebuild of articles_article dropped.

        On SQLite, Django applies most changes to a table's columns by copying
        it into a new table, which loses the old table's triggers.
        """
        cursor.execute("SELECT name FROM sqlite_master")
        present = {name for (name,) in cursor.fetchall()}
        if self.table not in present or present.issuperset(self.triggers):
            return False
        for name in self.triggers:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        self._create_triggers(cursor)
        # Whatever changed while the triggers were missing is indexed again.
        cursor.execute(f"INSERT INTO {self.table} ({self.table}) VALUES ('rebuild')")
        return True

    def merge_pending(self, cursor):
        """FTS5 merges its segments itself as it writes (automerge)."""

    def _create_triggers(self, cursor):
        body = indexed_body(cursor)
        for sql in self.triggers.values():
            cursor.execute(sql.format(body=body))

    def _match(self, terms):
        # A quoted FTS5 string is only ever words to match, never syntax.
        escaped = (term.replace('"', '""') for term in terms)
        return " ".join(f'"{term}"' for term in escaped)

    def matches(self, articles, terms):
        """The articles of a QuerySet that the index finds for the terms."""
        found = RawSQL(
            f"SELECT rowid FROM {self.table} WHERE {self.table} MATCH %s",
            [self._match(terms)],
        )
        return articles.filter(pk__in=found)

    def count(self, terms, limit):
        # Reads the index in its own order and checks each row against the
        # publish filter by primary key, stopping at the limit.
        published = Article.objects.published().order_by()
        row = RawSQL(f"{self.table}.rowid", [])
        sql, params = published.filter(pk=row).values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM (SELECT 1 FROM {self.table} "
                f"WHERE {self.table} MATCH %s AND EXISTS ({sql}) LIMIT %s)",
                [self._match(terms), *params, limit],
            )
            return cursor.fetchone()[0]

    def among(self, articles, ids_sql, params):
        """The articles whose ids the SQL query gives."""
        table = Article._meta.db_table
        return articles.extra(where=[f"{table}.id IN ({ids_sql})"], params=params)

    def ranked(self, articles, terms):
        # A join, so that one pass over the index ranks every match; a rank
        # read per article by a correlated subquery was 15 times slower on
        # 20,000 articles. The FTS table is no model: extra() is the way in.
        table = Article._meta.db_table
        return articles.extra(
            tables=[self.table],
            where=[f"{self.table}.rowid = {table}.id", f"{self.table} MATCH %s"],
            params=[self._match(terms)],
            # bm25() is better the more negative; flip it so higher is better.
            select={"search_rank": f"-{self.table}.rank"},
        )

    def page(self, terms, offset, limit):
        # The newest matches are ranked by calling bm25() on each of them: the
        # rank column in ORDER BY would have FTS5 rank every match. Only the
        # page's rows are then read again to be highlighted.
        newest, params = _newest_sql(self, Article.objects.published(), terms)
        match = self._match(terms)
        markers = [MATCH_START, MATCH_END]
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT rowid, rank, "
                f"highlight({self.table}, 0, %s, %s), "
                f"snippet({self.table}, 1, %s, %s, '…', 64), "
                f"snippet({self.table}, 2, %s, %s, '…', 32) "
                f"FROM {self.table} WHERE {self.table} MATCH %s AND rowid IN ("
                f"SELECT rowid FROM (SELECT rowid, bm25({self.table}, {self.weights}) "
                f"AS page_rank FROM {self.table} WHERE {self.table} MATCH %s "
                # "+" keeps FTS5 from searching once per id of the list.
                f"AND +rowid IN ({newest}) ORDER BY page_rank, rowid DESC "
                "LIMIT %s OFFSET %s)) ORDER BY rank, rowid DESC",
                [*markers * 3, match, match, *params, limit, offset],
            )
            # bm25() is better the more negative; flip it so higher is better.
            return [
                _Row(article_id, -rank, headline, standfirst, body)
                for article_id, rank, headline, standfirst, body in cursor.fetchall()
            ]


# New stories' entries wait in the GIN index's pending list and are merged in
# bulk: by an import at the end of each batch (merge_pending), otherwise once
# the list passes 1 MB. Inserting each story's words into the index itself
# costs about 0.5 ms a story, twenty times the merge (measured on PostgreSQL
# 15); a list kept small leaves the planner choosing the index.
PENDING_LIST = "fastupdate = on, gin_pending_list_limit = 1024"


class _PostgreSQLIndex:
    config = "english"
    index = "articles_article_search_document"
    document = RawSQL(
        '"articles_article"."search_document"', [], output_field=SearchVectorField()
    )
    create_sql = [
        "ALTER TABLE articles_article ADD COLUMN search_document tsvector",
        """
        CREATE FUNCTION articles_article_search_document() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- to_tsvector() fails past 1 MB; no save may fail for that.
            NEW.search_document :=
                setweight(to_tsvector('{config}', coalesce(NEW.headline, '')), 'A')
                || setweight(
                    to_tsvector('{config}', coalesce(NEW.standfirst, '')), 'B')
                || setweight(to_tsvector('{config}',
                    left(coalesce(NEW.{body}, ''), 200000)), 'C');
            RETURN NEW;
        END
        $$""",
        """
        CREATE TRIGGER articles_article_search_document
        BEFORE INSERT OR UPDATE OF headline, standfirst, {body} ON articles_article
        FOR EACH ROW EXECUTE FUNCTION articles_article_search_document()""",
        # Fills the column for the articles already there.
        "UPDATE articles_article SET headline = headline",
        "CREATE INDEX articles_article_search_document ON articles_article "
        f"USING gin (search_document) WITH ({PENDING_LIST})",
    ]
    drop_sql = [
        "DROP TRIGGER IF EXISTS articles_article_search_document ON articles_article",
        "DROP FUNCTION IF EXISTS articles_article_search_document()",
        "ALTER TABLE articles_article DROP COLUMN IF EXISTS search_document",
    ]

    def create(self, cursor):
        placeholders = {"config": self.config, "body": indexed_body(cursor)}
        for sql in self.create_sql:
            cursor.execute(sql.format(**placeholders))

    def drop(self, cursor):
        for sql in self.drop_sql:
            cursor.execute(sql)

    def repair(self, cursor):
        # ALTER TABLE keeps triggers on PostgreSQL: nothing is ever lost.
        return False

    def merge_pending(self, cursor):
        cursor.execute(f"SELECT gin_clean_pending_list('{self.index}'::regclass)")

    def _query(self, terms):
        return SearchQuery(" ".join(terms), config=self.config, search_type="plain")

    def matches(self, articles, terms):
        """The articles of a QuerySet that the index finds for the terms."""
        return articles.alias(document=self.document).filter(
            document=self._query(terms)
        )

    def count(self, terms, limit):
        matches = self.matches(Article.objects.published(), terms).order_by()
        return matches[:limit].count()

    def among(self, articles, ids_sql, params):
        """The articles whose ids the SQL query gives: listed once, then read
        by primary key; with "IN (...)" the planner would rather join the
        whole table."""
        table = Article._meta.db_table
        where = f"{table}.id = ANY(ARRAY({ids_sql}))"
        return articles.extra(where=[where], params=params)

    def ranked(self, articles, terms):
        rank = SearchRank(self.document, self._query(terms))
        return articles.annotate(search_rank=rank)

    def page(self, terms, offset, limit):
        query = self._query(terms)
        newest, params = _newest_sql(self, Article.objects.published(), terms)
        markers = {"start_sel": MATCH_START, "stop_sel": MATCH_END}
        rows = (
            self.among(Article.objects, newest, params)
            .annotate(
                rank=SearchRank(self.document, query),
                headline_marked=SearchHeadline(
                    "headline", query, config=self.config, highlight_all=True, **markers
                ),
                standfirst_marked=SearchHeadline(
                    "standfirst",
                    query,
                    config=self.config,
                    highlight_all=True,
                    **markers,
                ),
                body_marked=SearchHeadline(
                    Left("body_text", EXCERPT_LENGTH),
                    query,
                    config=self.config,
                    min_words=15,
                    max_words=35,
                    **markers,
                ),
            )
            .order_by("-rank", *NEWEST_FIRST)
            .values_list(
                "pk", "rank", "headline_marked", "standfirst_marked", "body_marked"
            )[offset : offset + limit]
        )
        return [_Row(*row) for row in rows]


_INDEXES = {"sqlite": _SQLiteIndex(), "postgresql": _PostgreSQLIndex()}


def indexed_body(cursor):
    """The column the index reads a story's body from: body_text, its words
    without markup, so that searching "strong" or "href" finds no markup. A
    database migrated only up to before that column (0011) indexes body."""
    connection = cursor.db
    columns = {
        column.name
        for column in connection.introspection.get_table_description(
            cursor, Article._meta.db_table
        )
    }
    return "body_text" if "body_text" in columns else "body"


def _index_for(vendor):
    try:
        return _INDEXES[vendor]
    except KeyError:
        raise ImproperlyConfigured(
            f"Search supports SQLite and PostgreSQL, not {vendor}."
        ) from None


def create_index(db_connection):
    """Create the search index and what keeps it in step (migration 0003)."""
    if index := _INDEXES.get(db_connection.vendor):
        with db_connection.cursor() as cursor:
            index.create(cursor)


def merge_pending(using):
    """Merge the search index's pending entries into it now (a bulk writer's
    batch, before its commit); nothing to do on SQLite."""
    db_connection = connections[using]
    if index := _INDEXES.get(db_connection.vendor):
        with db_connection.cursor() as cursor:
            index.merge_pending(cursor)


def drop_index(db_connection):
    if index := _INDEXES.get(db_connection.vendor):
        with db_connection.cursor() as cursor:
            index.drop(cursor)


def repair_index(using, **kwargs):
    """After every migrate: restore what a table rebuild dropped (post_migrate)."""
    db_connection = connections[using]
    if index := _INDEXES.get(db_connection.vendor):
        with db_connection.cursor() as cursor:
            index.repair(cursor)
