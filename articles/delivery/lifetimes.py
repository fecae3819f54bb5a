"""Freshness lifetimes and cache tags of the pages readers get.

Browsers keep a page briefly (max-age); a shared cache in front (Varnish, a
CDN) may keep it long (s-maxage) when PURGE_URL is set, because it is then
told the keys of every change and drops exactly those pages
(articles/delivery/purge.py); without purges it keeps it briefly too. No
lifetime outlives the next scheduled change (articles/scheduling.py): a story
going live at its minute changes pages with nobody saving anything.
"""

from datetime import UTC, datetime

from django.conf import settings

from articles import scheduling

# Headers naming a response's keys: Fastly and Varnish (xkey) read
# Surrogate-Key (space-separated), Cloudflare reads Cache-Tag (commas).
SURROGATE_KEY = "Surrogate-Key"
CACHE_TAG = "Cache-Tag"


def cache_control():
    """The Cache-Control of a reader page before the deadline cuts it."""
    if settings.PURGE_URL:
        return settings.PAGE_CACHE_CONTROL_PURGED
    return settings.PAGE_CACHE_CONTROL


def deadline_moment(deadline):
    """The deadline (Unix time or None) as an aware datetime, or None."""
    return None if deadline is None else datetime.fromtimestamp(deadline, UTC)


def limit(header, deadline):
    """header with every lifetime ending by the deadline."""
    return scheduling.limit_cache_control(header, deadline_moment(deadline))


def storage_timeout(deadline):
    """How long the page cache keeps an entry: until the next change is due."""
    return scheduling.page_lifetime(
        settings.PAGE_CACHE_TIMEOUT, deadline_moment(deadline)
    )


def tag(response, keys):
    """Name the response's keys for shared caches that purge by tag."""
    response[SURROGATE_KEY] = " ".join(keys)
    response[CACHE_TAG] = ",".join(keys)
