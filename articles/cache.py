"""The page cache for readers, and its invalidation.

Anonymous GET and HEAD responses of the public site are stored in Django's
default cache (Redis, or files under var/ that every worker of the machine
shares). Each page is stored with the generation token that was current when
it was made, and is served only while the database still holds that token:

- every content change writes a new random token in the same transaction as
  the change (signal receivers in articles/signals.py, or invalidate_pages()
  after bulk work), so the next request on any worker of any server misses;
- a flushed, new or restored database holds another token (or none), so a page
  made from other data is never served from it;
- the token also rolls over when a scheduled article's time comes or a
  front-page slot expires (scheduling.next_change_at), and starts
  afresh after migrate (every deploy), so old templates' pages go too.

Reading the token is one primary-key query per request; the cached page is
served without sessions, authentication or a view. Each process also keeps
copies of the shared pages it served last, checked against the same token,
which saves the round trip to the shared cache on the pages a spike of
readers asks for.
"""

import hashlib
import logging
import secrets
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, set_response_etag
from django.utils.http import parse_http_date_safe

from articles import scheduling
from articles.models import PageGeneration

logger = logging.getLogger(__name__)

GENERATION_ROW = 1
# Never cached whatever their headers say: the admin, the health check,
# files WhiteNoise did not find.
EXCLUDED_PREFIXES = ("/admin/", "/healthz", "/" + settings.STATIC_URL.lstrip("/"))
# After a cache error, go without the cache for this long instead of making
# every request wait for a server that is down.
CACHE_RETRY_SECONDS = 5.0
# Pages each process keeps in memory (the oldest go first).
LOCAL_PAGES = 100


_batch = threading.local()


@contextmanager
def invalidation_batch(publication_times_unchanged=False):
    """Invalidate once, at the end of the block, for every change made in it.

    For work that changes many rows inside one transaction (an imported file, a
    bulk action): put the block inside the transaction, so the new token still
    commits, or rolls back, with the changes. Nested blocks join the outer one.
    `publication_times_unchanged` promises that no story's status or publication
    time changed, which spares looking up the next scheduled publication.
    """
    if getattr(_batch, "pending", None) is not None:
        yield
        return
    _batch.pending = set()
    try:
        yield
        pending = _batch.pending
    finally:
        _batch.pending = None
    for using in sorted(pending):
        if publication_times_unchanged:
            _renew_token(using)
        else:
            invalidate_pages(using)


def content_changed(using=DEFAULT_DB_ALIAS):
    """What the signal receivers call: invalidate now, or at the batch's end."""
    pending = getattr(_batch, "pending", None)
    if pending is None:
        invalidate_pages(using)
    else:
        pending.add(using)


def invalidate_pages(using=DEFAULT_DB_ALIAS):
    """Make every cached page stale, on every worker and server, at once.

    Called by the signal receivers on each content change; call it yourself
    after changes that send no signals (QuerySet.update, bulk_create, raw SQL).
    Inside a transaction the new token commits, or rolls back, with it.
    """
    token = secrets.token_hex(16)
    next_change = scheduling.next_change_at(using)
    valid_until = next_change.timestamp() if next_change else None
    generations = PageGeneration.objects.using(using)
    if not generations.filter(pk=GENERATION_ROW).update(
        token=token, valid_until=valid_until
    ):
        # First use of this database, or it was flushed.
        generations.update_or_create(
            pk=GENERATION_ROW, defaults={"token": token, "valid_until": valid_until}
        )
    return token


def _renew_token(using):
    """invalidate_pages when the next scheduled publication stays as it was."""
    connection = connections[using]
    table = connection.ops.quote_name(PageGeneration._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET token = %s WHERE id = %s",
            [secrets.token_hex(16), GENERATION_ROW],
        )
        renewed = cursor.rowcount == 1
    if not renewed:
        invalidate_pages(using)


def forget_generation(using=DEFAULT_DB_ALIAS):
    """No page made so far will match again: the next request starts a new
    generation (after migrate, when templates may have changed)."""
    PageGeneration.objects.using(using).all().delete()


def current_generation(using=DEFAULT_DB_ALIAS):
    """The token pages must carry to be served now."""
    return generation_and_deadline(using)[0]


def generation_and_deadline(using=DEFAULT_DB_ALIAS):
    """The current token, and when the next scheduled article goes live or
    front-page slot expires (or None):
    no copy of a page, here or in a proxy, may be kept past that moment."""
    connection = connections[using]
    table = connection.ops.quote_name(PageGeneration._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT token, valid_until FROM {table} WHERE id = %s", [GENERATION_ROW]
        )
        row = cursor.fetchone()
    if row is None or (row[1] is not None and row[1] <= time.time()):
        try:
            with transaction.atomic(using=using):
                invalidate_pages(using)
        except DatabaseError as error:
            # A database readers cannot write to (read-only, disk full) still
            # serves pages: a token of this request's own matches no page kept
            # from before the deadline, and a deadline of now keeps none after.
            logger.warning("Page generation not renewed: %s", error)
            return secrets.token_hex(16), datetime.now(UTC)
        return generation_and_deadline(using)
    token, valid_until = row
    deadline = None if valid_until is None else datetime.fromtimestamp(valid_until, UTC)
    return token, deadline


# Values computed in this worker, by content generation; see per_generation.
_per_generation = {}
PER_GENERATION_AT_MOST = 2000


def per_generation(key, compute):
    """compute(), remembered in this worker until the content next changes.

    Every content change, and every scheduled story going live, rolls the
    generation token over, so a value derived only from the database stays
    right while the token holds; reading the token is one primary-key query.
    For parts of pages that staff and cookie-carrying readers also get (ETag
    fingerprints, "More on this"). Without the page cache it computes each time.
    """
    if not settings.PAGE_CACHE_ENABLED:
        return compute()
    remembered_key = (current_generation(), *key)
    if remembered_key not in _per_generation:
        if len(_per_generation) >= PER_GENERATION_AT_MOST:
            _per_generation.clear()
        _per_generation[remembered_key] = compute()
    return _per_generation[remembered_key]


class PageCacheMiddleware:
    """Serve and store anonymous readers' pages; see the module docstring.

    Sits right below WhiteNoise, so a cached page skips sessions, CSRF and
    authentication; the security headers are added above it on every response.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.local_pages = {}
        self.local_lock = threading.Lock()

    def __call__(self, request):
        if (
            not settings.PAGE_CACHE_ENABLED
            or request.method not in ("GET", "HEAD")
            or request.path.startswith(EXCLUDED_PREFIXES)
        ):
            return self.get_response(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            # Maybe an editor: never from the cache, never into it.
            return mark_private_for_staff(request, self.get_response(request))

        try:
            generation, next_publication = generation_and_deadline()
        except (OperationalError, InterfaceError):
            # Database down: a stored page beats a 503.
            generation, next_publication = None, None
        key = page_key(request)
        entry = self.local_pages.get(key)
        if entry is None or (generation is not None and entry[0] != generation):
            entry = _shared(lambda shared: shared.get(key))
            if entry is not None and entry[0] == generation:
                self.remember(key, entry)
        if entry is not None and (generation is None or entry[0] == generation):
            return answer(
                request, entry, "HIT" if generation else "STALE", next_publication
            )

        response = self.get_response(request)
        if generation is not None and request.method == "GET" and is_storable(response):
            response["Cache-Control"] = scheduling.limit_cache_control(
                response.get("Cache-Control", settings.PAGE_CACHE_CONTROL),
                next_publication,
            )
            if not response.has_header("ETag"):
                set_response_etag(response)
            entry = (generation, response.content, list(response.items()))
            timeout = scheduling.page_lifetime(
                settings.PAGE_CACHE_TIMEOUT, next_publication
            )
            if _shared(lambda shared: shared.set(key, entry, timeout) or "stored"):
                self.remember(key, entry)
            response["X-Cache"] = "MISS"
            return conditional(request, response)
        return response

    def remember(self, key, entry):
        """Keep a copy of a page the shared cache holds."""
        with self.local_lock:
            self.local_pages.pop(key, None)
            if len(self.local_pages) >= LOCAL_PAGES:
                del self.local_pages[next(iter(self.local_pages))]
            self.local_pages[key] = entry


def page_key(request):
    """One key per database and full path (query string included)."""
    database = connections[DEFAULT_DB_ALIAS].settings_dict
    where = "|".join(str(database[part]) for part in ("ENGINE", "HOST", "PORT", "NAME"))
    digest = hashlib.md5(
        f"{where}|{request.get_full_path()}".encode(), usedforsecurity=False
    ).hexdigest()
    return f"page:{digest}"


def is_storable(response):
    """Only a plain 200 that is the same for every anonymous reader."""
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    cache_control = response.get("Cache-Control", "").lower()
    if any(word in cache_control for word in ("private", "no-store", "no-cache")):
        return False
    vary = {
        header.strip().lower()
        for header in response.get("Vary", "").split(",")
        if header.strip()
    }
    # Without a session cookie a page cannot differ by Cookie; it may not
    # differ by anything else we do not key on.
    return not (vary - {"cookie", "accept-encoding"}) and not response.has_header(
        "Content-Encoding"
    )


def answer(request, entry, status, next_publication=None):
    _generation, content, headers = entry
    response = HttpResponse(content, headers=dict(headers))
    response["X-Cache"] = status
    # Worked out when the page was stored: cut again to the time left now.
    if response.has_header("Cache-Control"):
        response["Cache-Control"] = scheduling.limit_cache_control(
            response["Cache-Control"], next_publication
        )
    return conditional(request, response)


def conditional(request, response):
    """304 Not Modified when the reader already holds this version."""
    last_modified = parse_http_date_safe(response.get("Last-Modified", ""))
    return get_conditional_response(
        request,
        etag=response.get("ETag"),
        last_modified=last_modified,
        response=response,
    )


def mark_private_for_staff(request, response):
    user = getattr(request, "user", None)
    if (
        user is not None
        and user.is_authenticated
        and "no-store" not in response.get("Cache-Control", "")
    ):
        response["Cache-Control"] = "private, no-store"
    return response


def _shared(operation):
    """operation(the shared cache), or None when the cache fails: it is an
    optimisation, and pages go on uncached without it."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if time.monotonic() < getattr(backend, "page_cache_retry_at", 0.0):
        return None
    try:
        return operation(backend)
    except Exception:  # Redis down, a full disk, a corrupt file: all the same.
        logger.warning("Page cache unavailable; serving uncached", exc_info=True)
        backend.page_cache_retry_at = time.monotonic() + CACHE_RETRY_SECONDS
        return None
