"""Scheduled publication without cron: how long a copy of a page may be kept.

An article saved with a future `published_at` goes live at the first request
after that moment that reads `Article.objects.published()`; nothing runs at its
minute. So no copy of a page, in the page cache or in a proxy or CDN told to keep
it by Cache-Control, may outlive the next scheduled publication
(`Article.objects.next_publication_at()`), or readers would miss the story, or
find it on the front page and get a stale 404 at its address.

The same holds for a front-page slot whose time runs out (articles/frontpage.py):
the story leaves its place at the first request after it, so `next_change_at()`
is whichever comes first, and every deadline below is that moment.

The page cache applies these to each response it stores and to each it serves
from its store, since a stored page's headers were worked out when it was made.
"""

import math

from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone

# What a shared cache or browser may keep a page for, and serve it stale for
# while it fetches a new copy: together they must end before the next story
# goes live. (stale-if-error is left alone: it applies only when we are down.)
FRESHNESS_DIRECTIVES = ("max-age", "s-maxage")
STALE_DIRECTIVE = "stale-while-revalidate"


def next_change_at(using=DEFAULT_DB_ALIAS):
    """When readers' pages next change with nobody saving anything, or None:
    the next scheduled publication or the next front-page slot expiry."""
    from articles.frontpage import FrontPageSlot
    from articles.models import Article

    moments = [
        Article.objects.using(using).next_publication_at(),
        FrontPageSlot.objects.using(using).next_expiry_at(),
    ]
    return min(filter(None, moments), default=None)


def seconds_until(moment, now=None):
    """Whole seconds from now until moment (0 once it has come), or None."""
    if moment is None:
        return None
    now = now or timezone.now()
    return max(0, math.floor((moment - now).total_seconds()))


def page_lifetime(timeout, next_publication_at, now=None):
    """The page cache's storage timeout, cut to end at the next publication."""
    remaining = seconds_until(next_publication_at, now)
    return timeout if remaining is None else min(timeout, remaining)


def limit_cache_control(header, next_publication_at, now=None):
    """A Cache-Control value whose lifetimes all end by next_publication_at.

    max-age and s-maxage are cut to the seconds left, and stale-while-revalidate
    to what is left after the longer of them; other directives stay as they are.
    "public, max-age=30, s-maxage=60, stale-while-revalidate=30" with 45 seconds
    left becomes "public, max-age=30, s-maxage=45, stale-while-revalidate=0".
    """
    remaining = seconds_until(next_publication_at, now)
    if remaining is None:
        return header
    directives = [_split(part) for part in header.split(",") if part.strip()]
    fresh_for = 0
    for index, (name, value) in enumerate(directives):
        if name in FRESHNESS_DIRECTIVES and value is not None and value.isdigit():
            capped = min(int(value), remaining)
            directives[index] = (name, str(capped))
            fresh_for = max(fresh_for, capped)
    for index, (name, value) in enumerate(directives):
        if name == STALE_DIRECTIVE and value is not None and value.isdigit():
            directives[index] = (name, str(min(int(value), remaining - fresh_for)))
    return ", ".join(
        name if value is None else f"{name}={value}" for name, value in directives
    )


def _split(directive):
    name, equals, value = directive.strip().partition("=")
    return name.strip().lower(), value.strip() if equals else None
