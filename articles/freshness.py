"""ETag and Last-Modified for the reader pages, each from one cheap query.

A page's fingerprint lists every row it shows, or an aggregate over rows it
summarises, as (part, detail, changed) triples fetched with one UNION ALL. The
ETag hashes all of it, so it changes when anything on the page changes: an
edited person, a renamed topic, a related article's new headline, a story that
joins "More on this" or goes live at its scheduled time. Last-Modified is the
newest timestamp among them.

Topics, related links and tag/person memberships carry no timestamp, so a
change to them alone moves the ETag but not Last-Modified. Browsers and caches
send If-None-Match with If-Modified-Since, and then Django ignores the latter.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, wraps
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.views.decorators.http import condition

from articles.cache import per_generation
from articles.models import (
    Article,
    Author,
    Byline,
    Correction,
    Image,
    Person,
    RelatedLink,
    TaggedArticle,
    Topic,
)

ArticlePeople = Article.people.through
NO_TIME = Value(None, output_field=DateTimeField())


@dataclass(frozen=True)
class Version:
    etag: str
    last_modified: datetime


def conditional_page(fingerprint):
    """Django's condition() with both validators from one fingerprint query.

    fingerprint(**view_kwargs) returns a Version, or None when the page is not
    public (a draft preview, a 404): such responses get no validators.
    """

    def version_for(request, **kwargs):
        if not hasattr(request, "_page_version"):
            # Remembered until content next changes: one primary-key query
            # instead of the fingerprint's UNION on most requests.
            request._page_version = per_generation(
                (fingerprint.__name__, *sorted(kwargs.items())),
                lambda: fingerprint(**kwargs),
            )
        return request._page_version

    def etag(request, **kwargs):
        version = version_for(request, **kwargs)
        return version.etag if version else None

    def last_modified(request, **kwargs):
        version = version_for(request, **kwargs)
        return version.last_modified if version else None

    def decorator(view):
        conditional_view = condition(etag_func=etag, last_modified_func=last_modified)(
            view
        )

        @wraps(view)
        def wrapper(request, **kwargs):
            response = conditional_view(request, **kwargs)
            if response.status_code not in (200, 304):
                # An out-of-range ?page= is a 404 that must not look cacheable.
                del response["ETag"]
                del response["Last-Modified"]
            return response

        return wrapper

    return decorator


def article_page(slug):
    article = Article.objects.published().filter(slug=slug)
    topics = TaggedArticle.objects.filter(content_object__in=article).values("tag")
    people = ArticlePeople.objects.filter(article__in=article).values("person")
    topic_links = TaggedArticle.objects.filter(tag__in=topics)
    people_links = ArticlePeople.objects.filter(person__in=people)
    # Candidates for "More on this": published stories sharing a topic or person.
    sharing = (
        Article.objects.published()
        .filter(
            Q(pk__in=topic_links.values("content_object"))
            | Q(pk__in=people_links.values("article"))
        )
        .exclude(slug=slug)
    )
    links = RelatedLink.objects.filter(article__in=article).annotate(
        target_is_live=Exists(Article.objects.published().filter(pk=OuterRef("target")))
    )
    corrections = Correction.objects.filter(article__in=article)
    rows = _fetch(
        _each(article, "article", "pk", changed=_went_live_or_changed()),
        _each(
            corrections,
            "correction",
            *("pk", "kind", "published_at", "text"),
            changed="published_at",
        ),
        _each(Topic.objects.filter(pk__in=topics), "topic", "pk", "name", "slug"),
        _each(
            Person.objects.filter(pk__in=people), "person", "pk", changed="updated_at"
        ),
        _each(
            links,
            "link",
            *("pk", "position", "title", "summary", "url", "target", "target_is_live"),
            changed="target__updated_at",
        ),
        _totals(sharing, "sharing", changed=Max(_went_live_or_changed())),
        _bylines(Byline.objects.filter(article__in=article)),
        _totals(
            Byline.objects.filter(article__in=sharing),
            "sharing-bylines",
            changed=Max("author__updated_at"),
        ),
        _totals(topic_links, "topic-links"),
        _totals(people_links, "people-links"),
    )
    if "article" not in rows:
        return None
    return _version(rows)


def topic_page(slug):
    topic = Topic.objects.filter(slug=slug)
    links = TaggedArticle.objects.filter(tag__in=topic)
    return _listing_version(
        _each(topic, "subject", "pk", "name", "slug", "description"),
        links,
        Article.objects.published().filter(pk__in=links.values("content_object")),
    )


def person_page(slug):
    person = Person.objects.filter(slug=slug)
    links = ArticlePeople.objects.filter(person__in=person)
    return _listing_version(
        _each(person, "subject", "pk", changed="updated_at"),
        links,
        Article.objects.published().filter(pk__in=links.values("article")),
    )


def author_page(slug):
    author = Author.objects.filter(slug=slug)
    links = Byline.objects.filter(author__in=author)
    return _listing_version(
        # The photo's alt text shows on the page (and every page carries the
        # photos' latest change: see _fetch).
        _each(
            author, "subject", "pk", "photo", "photo__alt_text", changed="updated_at"
        ),
        links,
        Article.objects.published().filter(pk__in=links.values("article")),
    )


def corrections_page():
    """/corrections/ (every page of it): the corrections of published stories.

    Their count, newest id and newest time. Editing or removing a correction
    moves its article's updated_at (articles/history.py), and with it the
    newest time, unless the article was left with no correction at all: then
    the count alone moves the ETag.
    """
    corrections = Correction.objects.published()
    changed = Max(
        Greatest("published_at", "article__published_at", "article__updated_at")
    )
    return _version(_fetch(_totals(corrections, "corrections", changed=changed)))


def _listing_version(subject, links, articles):
    """A topic's or person's page: the subject and its published stories."""
    rows = _fetch(
        subject,
        _totals(articles, "articles", changed=Max(_went_live_or_changed())),
        _totals(links, "links"),
        # The cards' bylines: who, and when an author last changed.
        _totals(
            Byline.objects.filter(article__in=articles),
            "bylines",
            changed=Max("author__updated_at"),
        ),
    )
    # Without a published story the page is a 404 (or a staff preview).
    [(article_totals, _)] = rows["articles"]
    if "subject" not in rows or article_totals.startswith("0|"):
        return None
    return _version(rows)


def _bylines(bylines):
    """Each byline as shown: its place, and its author's name and address."""
    return _each(
        bylines,
        "byline",
        *("pk", "position", "author", "author__name", "author__slug"),
        changed="author__updated_at",
    )


def _went_live_or_changed():
    # A scheduled story changes what readers see when its time comes, not when
    # it was last saved.
    return Greatest("updated_at", Coalesce("published_at", "updated_at"))


def _text(*fields):
    """Several columns as one text column, so every UNION member matches."""
    parts = [Cast(field, CharField()) for field in fields]
    if len(parts) == 1:
        return parts[0]
    separated = [parts[0]]
    for part in parts[1:]:
        separated += [Value("|"), part]
    return Concat(*separated, output_field=CharField())


def _each(queryset, part, *fields, changed=None):
    """One fingerprint row for each row of queryset."""
    return queryset.order_by().values_list(
        Value(part, output_field=CharField()),
        _text(*fields),
        F(changed) if isinstance(changed, str) else (changed or NO_TIME),
    )


def _totals(queryset, part, changed=None):
    """One fingerprint row summing up queryset: its size, newest id and time."""
    # A constant in values() adds no GROUP BY: the aggregates cover every row,
    # and an empty queryset still gives one row (0 rows, no newest id).
    totals = (
        queryset.order_by()
        .annotate(fingerprint_part=Value(part, output_field=CharField()))
        .values("fingerprint_part")
        .annotate(rows=Count("pk"), newest=Max("pk"), changed=changed or NO_TIME)
    )
    return totals.values_list("fingerprint_part", _text("rows", "newest"), "changed")


def _fetch(first, *others):
    """Run the one fingerprint query: {part: [(detail, changed), ...]}.

    Every page also carries the photo library's latest change: pictures list
    only the renditions made so far, and the rest arrive from a worker later.
    """
    photos = _totals(Image.objects.all(), "photos", changed=Max("updated_at"))
    rows = {}
    for part, detail, changed in first.union(*others, photos, all=True):
        rows.setdefault(part, []).append((detail, changed))
    return rows


def _version(rows):
    digest = hashlib.blake2b(code_version().encode(), digest_size=16)
    times = [code_changed_at()]
    for part in sorted(rows):
        for detail, changed in sorted(rows[part], key=repr):
            digest.update(repr((part, detail, changed)).encode())
            if changed is not None:
                times.append(changed)
    return Version(etag=f'"{digest.hexdigest()}"', last_modified=max(times))


@cache
def code_version():
    """What the templates and settings add: a deploy must not answer 304."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{settings.SITE_URL}|{settings.SITE_NAME}".encode())
    for path in _code_files():
        digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def code_changed_at():
    times = [path.stat().st_mtime for path in _code_files()]
    return datetime.fromtimestamp(max(times, default=0), tz=UTC)


def _code_files():
    files = sorted(
        path for path in (settings.BASE_DIR / "templates").rglob("*") if path.is_file()
    )
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest and staticfiles_storage.exists(manifest):
        files.append(Path(staticfiles_storage.path(manifest)))
    return files
