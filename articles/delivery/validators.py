"""ETag and Last-Modified of reader pages, from their keys' versions.

One path for every page, feed and sitemap: the page records its keys while it
is made, and its validators are worked out from their versions, the same read
that tells the page cache whether a stored copy is current. There is no second
copy of each page's query to drift from the view.

- ETag: a digest of the code (templates, static manifest, site settings), the
  site-wide token, each key's version and the last scheduled change that
  has come, so it moves exactly when one of them does (a story going live at
  its minute changes pages with nobody saving anything).
- Last-Modified: when the newest of the keys changed, or that last scheduled
  change, or the code's files.
"""

import hashlib
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe


def etag(keys, versions):
    digest = hashlib.blake2b(code_version().encode(), digest_size=16)
    digest.update(repr((versions.site, versions.last_deadline)).encode())
    for key, version in zip(keys, versions.of(keys), strict=True):
        digest.update(f"|{key}={version}".encode())
    return f'"{digest.hexdigest()}"'


def last_modified(keys, versions):
    """Unix time, whole seconds, as HTTP dates carry."""
    return int(max(versions.changed_at(keys), code_changed_at()))


def set_validators(response, tag, modified):
    response["ETag"] = tag
    response["Last-Modified"] = http_date(modified)


def conditional(request, response):
    """304 Not Modified when the reader already holds this version."""
    return get_conditional_response(
        request,
        etag=response.get("ETag"),
        last_modified=parse_http_date_safe(response.get("Last-Modified", "")),
        response=response,
    )


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
    return max(times, default=0)


def _code_files():
    files = sorted(
        path for path in (settings.BASE_DIR / "templates").rglob("*") if path.is_file()
    )
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest and staticfiles_storage.exists(manifest):
        files.append(Path(staticfiles_storage.path(manifest)))
    return files


def as_datetime(timestamp):
    return datetime.fromtimestamp(timestamp, UTC)
