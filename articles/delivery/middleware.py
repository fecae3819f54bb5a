"""The page cache for readers, and the validators of every reader page.

Anonymous GET and HEAD responses of the public site are stored in Django's
default cache (Redis, or files under var/ that every worker of the machine
shares), with the keys the page recorded and their versions
(articles/delivery/keys.py). Each request reads the current versions of the
stored page's keys, and the site-wide token, in one query:

- all the same, and the next scheduled change not yet due: the stored page
  is served (X-Cache: HIT), without sessions, authentication or a view;
- otherwise the view makes the page (X-Cache: MISS). When the page shows
  the keys the stored one did, the versions read before the view are its
  own: read before its content, they can only be older, which costs at most
  one more miss. Otherwise a second read gives its keys' versions. They
  become its ETag and Last-Modified and go with it into the cache, unless a
  change committed while it was being made (the change counter moved), when
  it is served but not stored.
- nothing stored: no read before the view but of the site row (the change
  counter), just before it, or with the view's own first query for views
  marked `keys.first_query_reads_site` (the article page); then one read of
  its keys' versions after it.

Query strings only count as far as pages read them (`page`, `p`, `q`):
`?utm_source=...` gets the same entry. With PAGE_CACHE_ENABLED off, or for
readers with a session cookie, nothing is stored or served from the cache,
but the validators and the 304s come from the same versions.
"""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpResponse, HttpResponseNotModified

from articles.delivery import keys, lifetimes, memo, validators

logger = logging.getLogger(__name__)

# Never cached whatever their headers say: the admin, the health check,
# files WhiteNoise did not find.
EXCLUDED_PREFIXES = ("/admin/", "/healthz", "/" + settings.STATIC_URL.lstrip("/"))
# The query parameters reader pages read: a page number (`page`, a sitemap's
# `p`) and a search. Any other (utm_source, fbclid...) changes nothing.
PAGE_PARAMETERS = ("page", "p", "q")
# After a cache error, go without the cache for this long instead of making
# every request wait for a server that is down.
CACHE_RETRY_SECONDS = 5.0
# Pages each process keeps in memory (the oldest go first).
LOCAL_PAGES = 100


@dataclass(frozen=True)
class Entry:
    """A page as made: its keys with their versions, validators and content."""

    keys: tuple
    versions: tuple
    site: str
    deadline: float | None
    etag: str
    last_modified: int
    content: bytes | None  # None: only the validators are kept
    headers: tuple = ()

    def current(self, versions, now=None):
        now = time.time() if now is None else now
        return (
            versions.site == self.site
            and versions.of(self.keys) == self.versions
            and (self.deadline is None or now < self.deadline)
        )


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
        if request.method not in ("GET", "HEAD") or request.path.startswith(
            EXCLUDED_PREFIXES
        ):
            return self.get_response(request)
        storing = settings.PAGE_CACHE_ENABLED
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            # Maybe an editor: never from the cache, never into it.
            storing = False
        page = page_key(request)
        entry = self.local(page)
        from_local = entry is not None
        if entry is None and settings.PAGE_CACHE_ENABLED:
            # For a reader with a session cookie too: the stored page's keys
            # are worth reading first, so the view reuses what it can (memo.py).
            entry = _shared(lambda shared: shared.get(page))
        if entry is None and not storing:
            # Nothing to check and nothing to store: the versions read after
            # the view are enough for its validators.
            request.key_versions = None
            response = self.get_response(request)
            if has_validators(response):
                response = self.made(request, page, response, None, storing)
            if settings.PAGE_CACHE_ENABLED:
                response = mark_private_for_staff(request, response)
            return response
        if entry is None:
            # Nothing stored, so nothing to check: the versions before the
            # view are read just before it (process_view), or with its first
            # query, so a miss reads them only once more, after it.
            request.key_versions = None
            request.versions_from_view = True
            response = self.get_response(request)
            if has_validators(response):
                response = self.made(
                    request, page, response, request.key_versions, storing
                )
            return response
        try:
            before = keys.read(entry.keys)
        except DatabaseError:
            # Database down: a stored page beats a 503.
            if entry.content is not None and storing:
                return answer(request, entry, "STALE", None)
            return self.get_response(request)

        if from_local and storing and not entry.current(before):
            # This worker's copy went stale; another worker may have stored
            # the page since.
            entry, before = self.fresher_shared(page, entry, before)
        if entry is not None and entry.current(before):
            if storing and entry.content is not None:
                return answer(request, entry, "HIT", before.deadline)
            if settings.SESSION_COOKIE_NAME not in request.COOKIES:
                not_modified = answer_not_modified(request, entry, before.deadline)
                if not_modified is not None:
                    return not_modified
        request.key_versions = before
        response = self.get_response(request)
        if has_validators(response):
            response = self.made(request, page, response, before, storing)
        if (
            settings.SESSION_COOKIE_NAME in request.COOKIES
            and settings.PAGE_CACHE_ENABLED
        ):
            response = mark_private_for_staff(request, response)
        return response

    def process_view(self, request, view, view_args, view_kwargs):
        if getattr(request, "versions_from_view", False) and not getattr(
            view, "first_query_reads_site", False
        ):
            request.versions_from_view = False
            request.key_versions = keys.read(())

    def made(self, request, page, response, before, storing):
        """A page the view just made: validators, lifetimes, tags, storage."""
        page_keys = keys.recorded(request)
        if before is not None and before.covers(page_keys):
            # Read before the view: versions no newer than what it showed, so
            # a change committed meanwhile makes the next request miss.
            after = before
        else:
            after = keys.read(page_keys)
        tag = validators.etag(page_keys, after)
        modified = validators.last_modified(page_keys, after)
        validators.set_validators(response, tag, modified)
        response["Cache-Control"] = lifetimes.limit(
            response.get("Cache-Control") or lifetimes.cache_control(), after.deadline
        )
        lifetimes.tag(response, page_keys)
        # Stored only when no change committed while the view ran: else the
        # page may show data older than its versions. (With the page cache
        # off, only the validators are kept, unchecked: that mode is for
        # development and tests, and saves the read before each view.)
        unchanged = (
            not settings.PAGE_CACHE_ENABLED
            if before is None
            else (
                (after.changes, after.site, after.last_deadline)
                == (before.changes, before.site, before.last_deadline)
            )
        )
        store = storing and request.method == "GET" and is_storable(response)
        anonymous = settings.SESSION_COOKIE_NAME not in request.COOKIES
        if unchanged and after.site is not None:
            # Content-only values: the same whoever asked.
            memo.keep_pending(request, after)
        if unchanged and after.site is not None and anonymous:
            entry = Entry(
                keys=page_keys,
                versions=after.of(page_keys),
                site=after.site,
                deadline=after.deadline,
                etag=tag,
                last_modified=modified,
                content=response.content if store else None,
                headers=tuple(response.items()) if store else (),
            )
            if store:
                timeout = lifetimes.storage_timeout(after.deadline)
                if _shared(lambda shared: shared.set(page, entry, timeout) or "ok"):
                    self.remember(page, entry)
            else:
                self.remember(page, entry)
        if store:
            response["X-Cache"] = "MISS"
        return validators.conditional(request, response)

    def fresher_shared(self, page, stale, before):
        """The shared cache's entry for page, with its keys' versions, when it
        differs from this worker's stale copy (else that copy)."""
        try:
            shared = _shared(lambda cache: cache.get(page))
            if shared is None or (shared.site, shared.versions) == (
                stale.site,
                stale.versions,
            ):
                return stale, before
            if not before.covers(shared.keys):
                before = keys.read(shared.keys)
        except DatabaseError:
            return stale, before
        if shared.current(before):
            self.remember(page, shared)
        return shared, before

    def local(self, page):
        with self.local_lock:
            return self.local_pages.get(page)

    def remember(self, page, entry):
        """Keep a copy of a page the shared cache holds (or its validators)."""
        with self.local_lock:
            self.local_pages.pop(page, None)
            if len(self.local_pages) >= LOCAL_PAGES:
                del self.local_pages[next(iter(self.local_pages))]
            self.local_pages[page] = entry


def page_key(request):
    """One key per database, path and the query parameters pages read."""
    database = connections[DEFAULT_DB_ALIAS].settings_dict
    where = "|".join(str(database[part]) for part in ("ENGINE", "HOST", "PORT", "NAME"))
    query = urlencode(
        sorted(
            (name, value)
            for name, values in request.GET.lists()
            if name in PAGE_PARAMETERS
            for value in values
        )
    )
    digest = hashlib.md5(
        f"{where}|{request.path}?{query}".encode(), usedforsecurity=False
    ).hexdigest()
    return f"page:{digest}"


def has_validators(response):
    """A public 200 gets validators: not an error, a redirect, a preview."""
    if response.status_code != 200 or response.streaming:
        return False
    cache_control = response.get("Cache-Control", "").lower()
    return not any(word in cache_control for word in ("private", "no-store"))


def is_storable(response):
    """Only a plain 200 that is the same for every anonymous reader."""
    if response.cookies or not has_validators(response):
        return False
    if "no-cache" in response.get("Cache-Control", "").lower():
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


def answer(request, entry, status, deadline):
    response = HttpResponse(entry.content, headers=dict(entry.headers))
    response["X-Cache"] = status
    # Worked out when the page was stored: cut again to the time left now.
    if response.has_header("Cache-Control"):
        response["Cache-Control"] = lifetimes.limit(response["Cache-Control"], deadline)
    return validators.conditional(request, response)


def answer_not_modified(request, entry, deadline):
    """304 from the validators alone, when the reader holds this version."""
    probe = HttpResponse()
    validators.set_validators(probe, entry.etag, entry.last_modified)
    response = validators.conditional(request, probe)
    if not isinstance(response, HttpResponseNotModified):
        return None
    response["Cache-Control"] = lifetimes.limit(lifetimes.cache_control(), deadline)
    lifetimes.tag(response, entry.keys)
    return response


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
