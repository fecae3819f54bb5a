"""Delivery: how reader pages are cached, validated, kept and purged.

Start here to learn what happens when a story is saved:

- keys.py: every page records the keys of what it shows (article:12,
  topic-list:3, home, ...); changes.py maps each model change to the keys it
  affects, and keys.bump() writes their new versions in the change's own
  transaction (one site-wide key as well, for deploys and restores);
  querysets.py makes QuerySet.update() and bulk_create() do the same;
- middleware.py: the page cache; a stored page is served while its keys keep
  the versions it was made with, checked with one query per request;
- validators.py: ETag and Last-Modified from those same versions, and the one
  304 path for pages, feeds and sitemaps;
- lifetimes.py: Cache-Control (short max-age, long s-maxage), the
  Surrogate-Key / Cache-Tag headers, and the "next change at" deadline of
  pages that change with time (a scheduled story going live);
- purge.py: after a commit, the bumped keys go to PURGE_URL (Varnish xkey, a
  CDN) so shared caches drop exactly those pages;
- memo.py: per-process values that depend only on content, by key versions
  (a story and each of its attachments, its "More on this", blocks of HTML
  drawn with the `{% remembered %}` tag of articles/templatetags/reader.py),
  so a miss fetches and draws again only what changed.
"""
