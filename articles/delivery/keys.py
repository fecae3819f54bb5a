"""Dependency keys: what a page shows, and the versions that say it is current.

Each reader page records the keys of what it shows while it is made
(`record(request, ...)`): `article:12` for a story's own page, `card:12`
wherever the story appears as a card or link (headline, standfirst, photo,
address), `attached:12:tags` (`:people`, `:bylines`, `:related_links`,
`:corrections`) for what is attached to a story (a change to them bumps
`article:12` too; a new body only `article:12`), `topic:3`, `person:7`, `author:5`,
`image:40` for their names and pictures, and list keys for which stories a
list holds: `home`, `topic-list:3`, `person-list:7`, `author-list:5`,
`topics`, `people`, `feeds`, `sitemaps`, `corrections`. A page that names
none depends on `any`.

A change writes a new random version for exactly the keys it affects
(articles/delivery/changes.py says which), in the change's own transaction:
the versions live in the database (`PageKey`), beside the content, so they
commit or roll back with it and a restored database brings its own. One
site-wide token (`PageGeneration`) goes into every page as well: migrate
(every deploy), a flushed or restored database, or `invalidate_pages()` give a
new one, so a page made from other code or other data is never served.

Why the database rather than Redis: versions must move in the same
transaction as the content, or a reader racing a rollback would cache a page
of content that never existed, or miss a committed change while Redis was
unreachable. Reading them is one indexed query per request
(`WHERE key IN (...)`, joined with the site row by UNION ALL).
"""

import contextlib
import functools
import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Case, F, Subquery, When

from articles.models import PageGeneration, PageKey

GENERATION_ROW = 1

HOME = "home"
FEEDS = "feeds"
SITEMAPS = "sitemaps"
CORRECTIONS = "corrections"
TOPICS = "topics"
PEOPLE = "people"
# What a page that records no keys depends on: every change bumps it.
ANY = "any"


def article(pk):
    return f"article:{pk}"


def card(pk):
    return f"card:{pk}"


def attached(pk, name):
    """One of a story's attachments, by the name it is fetched by: tags,
    people, bylines, related_links or corrections."""
    return f"attached:{pk}:{name}"


def topic(pk):
    return f"topic:{pk}"


def topic_list(pk):
    return f"topic-list:{pk}"


def person(pk):
    return f"person:{pk}"


def person_list(pk):
    return f"person-list:{pk}"


def author(pk):
    return f"author:{pk}"


def author_list(pk):
    return f"author-list:{pk}"


def image(pk):
    return f"image:{pk}"


def record(request, *keys):
    """The page being made for request shows what these keys name."""
    request.__dict__.setdefault("page_keys", set()).update(k for k in keys if k)


def recorded(request):
    """The keys the page recorded, or (ANY,) when it recorded none."""
    return tuple(sorted(getattr(request, "page_keys", None) or (ANY,)))


@dataclass(frozen=True)
class Versions:
    """What one read of the versions returns."""

    site: str | None  # the site-wide token; None when it could not be read
    deadline: float | None  # Unix time of the next scheduled change, or None
    changes: int  # the change counter, to notice a change during a render
    last_deadline: float | None  # the last scheduled change that has come
    keys: dict = field(default_factory=dict)  # key -> (version, changed_at)
    asked: frozenset = frozenset()  # the keys read, changed or not

    def covers(self, keys):
        return self.asked.issuperset(keys)

    def of(self, keys):
        """The versions of keys, in their order ("" for never changed)."""
        return tuple(self.keys.get(key, ("", 0.0))[0] for key in keys)

    def changed_at(self, keys):
        """When the newest of keys last changed for readers (Unix time): a
        save, or the last scheduled story going live."""
        times = [self.keys.get(key, ("", 0.0))[1] for key in keys]
        return max([*times, self.last_deadline or 0.0])


# The site row's columns, as Versions names them.
_SITE_ROW = {
    "site": "token",
    "deadline": "valid_until",
    "changes": "changes",
    "last_deadline": "last_deadline",
}


def read(keys, using=DEFAULT_DB_ALIAS):
    """The site row and the versions of keys, in one query.

    Past the deadline (a scheduled story has gone live) the next one is looked
    up; writing it back is best effort, as a reader's request may run on a
    read-only database.
    """
    keys = tuple(keys)
    connection = connections[using]
    quote = connection.ops.quote_name
    generation = quote(PageGeneration._meta.db_table)
    page_key = quote(PageKey._meta.db_table)
    sql = f"SELECT '', {', '.join(_SITE_ROW.values())} FROM {generation} WHERE id = %s"
    params = [GENERATION_ROW]
    if keys:
        placeholders = ", ".join(["%s"] * len(keys))
        sql += (
            f" UNION ALL SELECT {quote('key')}, version, changed_at, 0, NULL"
            f" FROM {page_key} WHERE {quote('key')} IN ({placeholders})"
        )
        params += keys
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    site_row = (None, None, 0, None)
    found = {}
    for key, version, moment, counter, passed in rows:
        if key == "":
            site_row = (version, moment, counter, passed)
        else:
            found[key] = (version, moment)
    return _versions(using, *site_row, found, keys)


def _versions(using, site, deadline, changes, last_deadline, found=None, keys=()):
    """Versions from the site row (and the keys found of those asked): a
    site with no token gets one, a passed deadline moves on."""
    if site is None:
        site, deadline = _start_generation(using)
    elif deadline is not None and deadline <= time.time():
        deadline, last_deadline = _move_deadline(using, deadline), deadline
    return Versions(
        site=site,
        deadline=deadline,
        changes=changes or 0,
        last_deadline=last_deadline,
        keys=found or {},
        asked=frozenset(keys),
    )


def with_site_row(request, queryset):
    """queryset, its rows carrying the site row as it was when they were read
    if the middleware left that read to the view's first query (nothing
    stored for the page: see first_query_reads_site), so a miss reads the
    versions once, after the view."""
    if not getattr(request, "versions_from_view", False):
        return queryset
    site = PageGeneration.objects.filter(pk=GENERATION_ROW)
    return queryset.annotate(
        **{
            f"site_row_{name}": Subquery(site.values(column))
            for name, column in _SITE_ROW.items()
        }
    )


def versions_before_view(request, row):
    """The versions before the view, from a row of a with_site_row() QuerySet,
    when the middleware left them to the view's first query (no query)."""
    if getattr(request, "versions_from_view", False) and row is not None:
        request.versions_from_view = False
        request.key_versions = _versions(
            row._state.db, *(getattr(row, f"site_row_{name}") for name in _SITE_ROW)
        )


def first_query_reads_site(view):
    """Marks a view whose first query reads the site row (with_site_row), so
    the middleware does not read it before the view."""
    view.first_query_reads_site = True
    return view


def _start_generation(using):
    """A new, flushed or restored database: a token no stored page carries."""
    deadline = _next_change(using)
    token = secrets.token_hex(16)
    try:
        PageGeneration.objects.using(using).update_or_create(
            pk=GENERATION_ROW, defaults={"token": token, "valid_until": deadline}
        )
    except DatabaseError:
        # Read-only: pages go uncached (no token matches None) until it can.
        return None, deadline
    return token, deadline


def _move_deadline(using, passed):
    deadline = _next_change(using)
    # Best effort: if it fails, the next request looks it up again.
    with contextlib.suppress(DatabaseError):
        PageGeneration.objects.using(using).filter(
            pk=GENERATION_ROW, valid_until=passed
        ).update(valid_until=deadline, last_deadline=passed)
    return deadline


def _next_change(using):
    from articles.scheduling import next_change_at

    moment = next_change_at(using)
    return moment.timestamp() if moment else None


def version_of(key, using=DEFAULT_DB_ALIAS):
    """One key's current version ("" when it never changed)."""
    return read([key], using).of([key])[0]


# -- Writing ----------------------------------------------------------------

_batch = threading.local()


@contextmanager
def invalidation_batch(publication_times_unchanged=False):
    """Bump once, at the end of the block, every key the changes in it touch.

    For work that changes many rows inside one transaction (an imported file, a
    bulk action): put the block inside the transaction, so the versions still
    commit, or roll back, with the changes. Nested blocks join the outer one.
    `publication_times_unchanged` promises that no story's status or
    publication time changed, which spares looking up the next scheduled
    publication.
    """
    if getattr(_batch, "pending", None) is not None:
        yield
        return
    _batch.pending = {}
    try:
        yield
        pending = _batch.pending
    finally:
        _batch.pending = None
    for using, change in sorted(pending.items()):
        bump(
            change.keys,
            using,
            deadline_may_move=change.deadline_may_move
            and not publication_times_unchanged,
        )


@dataclass
class _Pending:
    keys: dict = field(default_factory=dict)
    deadline_may_move: bool = False


def changed(keys, using=DEFAULT_DB_ALIAS, deadline_may_move=False):
    """What the signal receivers call: bump now, or at the batch's end.

    keys maps each key to when the change shows (Unix time), or is a
    collection of keys that change now.
    """
    if not isinstance(keys, dict):
        keys = dict.fromkeys(keys, 0.0)
    pending = getattr(_batch, "pending", None)
    if pending is None:
        bump(keys, using, deadline_may_move=deadline_may_move)
        return
    change = pending.setdefault(using, _Pending())
    for key, moment in keys.items():
        change.keys[key] = max(moment, change.keys.get(key, 0.0))
    change.deadline_may_move |= deadline_may_move


def bump(keys, using=DEFAULT_DB_ALIAS, deadline_may_move=False):
    """New versions for keys (and ANY), in the current transaction.

    Two statements, three with a new deadline: one upsert of every key, one
    update of the site row's change counter. Shared caches hear of the keys
    once the transaction commits (articles/delivery/purge.py).
    """
    from articles.delivery import purge

    if not isinstance(keys, dict):
        keys = dict.fromkeys(keys, 0.0)
    now = time.time()
    # A change dated later (a story saved for tomorrow) counts from now: its
    # going live is the deadline's business. One statement for every key.
    keys = {key: min(moment or now, now) for key, moment in {**keys, ANY: 0}.items()}
    _upsert(
        using, [(key, secrets.token_hex(8), moment) for key, moment in keys.items()]
    )
    site = PageGeneration.objects.using(using).filter(pk=GENERATION_ROW)
    counted = {"changes": F("changes") + 1}
    if deadline_may_move:
        counted["last_deadline"] = _passed_deadline(now)
        counted["valid_until"] = _next_change(using)
    if not site.update(**counted):
        _start_generation(using)
    purge.after_commit(keys, using)


def _passed_deadline(now):
    """last_deadline as it must read once valid_until is replaced."""
    return Case(
        When(valid_until__lte=now, then=F("valid_until")),
        default=F("last_deadline"),
    )


UPSERT_ROWS = 300  # SQLite takes at most 999 parameters per statement


def _upsert(using, rows):
    """New versions for keys; changed_at never moves back (Last-Modified)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(PageKey._meta.db_table)
    key = quote("key")
    rows = sorted(rows)
    upsert = (
        f" ON CONFLICT ({key}) DO UPDATE SET version = excluded.version,"
        f" changed_at = CASE WHEN excluded.changed_at > {table}.changed_at"
        f" THEN excluded.changed_at ELSE {table}.changed_at END"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: psycopg parses each placeholder in Python,
            # and an import's batch bumps a thousand keys.
            cursor.execute(
                f"INSERT INTO {table} ({key}, version, changed_at) SELECT * FROM "
                f"unnest(%s::varchar[], %s::varchar[], %s::float8[]){upsert}",
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        for start in range(0, len(rows), UPSERT_ROWS):
            chunk = rows[start : start + UPSERT_ROWS]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({key}, version, changed_at) VALUES {values}"
                f"{upsert}",
                [value for row in chunk for value in row],
            )


def invalidate_pages(using=DEFAULT_DB_ALIAS):
    """Make every cached page stale, on every worker and server, at once.

    For changes no signal tells of (raw SQL, a restore into a live database):
    a new site-wide token, which every page carries. Inside a transaction it
    commits, or rolls back, with the change.
    """
    from articles.delivery import purge

    token = secrets.token_hex(16)
    valid_until = _next_change(using)
    generations = PageGeneration.objects.using(using)
    if not generations.filter(pk=GENERATION_ROW).update(
        token=token,
        valid_until=valid_until,
        changes=F("changes") + 1,
        last_deadline=_passed_deadline(time.time()),
    ):
        generations.update_or_create(
            pk=GENERATION_ROW, defaults={"token": token, "valid_until": valid_until}
        )
    purge.after_commit({ANY: 0.0}, using)
    return token


def forget_generation(using=DEFAULT_DB_ALIAS):
    """No page made so far will match again: the next request starts a new
    generation (after migrate, when templates may have changed)."""
    PageGeneration.objects.using(using).all().delete()


def current_generation(using=DEFAULT_DB_ALIAS):
    """The site-wide token pages must carry to be served now."""
    return read((), using).site


# -- What pages show -------------------------------------------------------

SITE = "site"  # never bumped: pages that change only with the code or database


def _prefetched(instance, name):
    return getattr(instance, "_prefetched_objects_cache", {}).get(name, ())


# What each row of a story's attachments names, by the name it is fetched by.
_ATTACHED = {
    "tags": lambda tag: topic(tag.pk),
    "people": lambda named: person(named.pk),
    "bylines": lambda byline: author(byline.author_id),
    "related_links": lambda link: link.target_id and card(link.target_id),
}


def of_attached(name, rows):
    """The keys one of a story's attachments (its tags, people, bylines,
    related_links or corrections, as fetched) names besides the story."""
    key_of = _ATTACHED.get(name)
    return {key for key in map(key_of, rows) if key} if key_of else set()


def of_card(story):
    """A story shown as a card or link: its card, photo, bylines and topics
    (as far as they were fetched with it; no query here)."""
    shown = {card(story.pk)}
    if story.lead_image_id:
        shown.add(image(story.lead_image_id))
    shown |= of_attached("bylines", _prefetched(story, "bylines"))
    shown |= of_attached("tags", _prefetched(story, "tags"))
    return shown


def of_story(story):
    """A story's own page: the story and everything of it shown there, and
    the lists of its topics and people, from which "More on this" is drawn."""
    shown = of_story_itself(story)
    shown |= {topic_list(tag.pk) for tag in _prefetched(story, "tags")}
    shown |= {person_list(named.pk) for named in _prefetched(story, "people")}
    return shown


def of_story_itself(story):
    """The story and what was fetched with it: its page but "More on this"."""
    shown = of_card(story) | {article(story.pk)}
    shown |= of_attached("people", _prefetched(story, "people"))
    shown |= of_attached("related_links", _prefetched(story, "related_links"))
    resolved = getattr(story, "resolved_body", None)
    if resolved is not None:
        shown |= {card(pk) for pk in resolved.parsed.story_ids}
        shown |= {image(pk) for pk in resolved.parsed.image_ids}
    return shown


def record_cards(request, stories):
    for story in stories:
        record(request, *of_card(story))


def shows(*page_keys):
    """A view decorator: every page the view makes shows these keys."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            record(request, *page_keys)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
