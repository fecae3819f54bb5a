"""Serving uploaded media from MEDIA_ROOT when no S3 bucket holds it.

`make run` and a single server need nothing else; in production nginx serves
the same folder in front of the app with the same cache rules (see
`cache_control`), or the bucket serves media and this view is not routed.
"""

import stat
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpResponseNotModified
from django.urls import re_path
from django.utils._os import safe_join
from django.utils.http import http_date
from django.views.decorators.http import require_safe
from django.views.static import was_modified_since

from articles.renditions import RENDITIONS_FOLDER

# Renditions are named by a hash of what they are made from: they never change.
RENDITION_CACHE_CONTROL = "public, max-age=31536000, immutable"
# Originals are only linked from the admin; a replaced photo gets a new name too,
# but keep them short-lived in caches all the same.
ORIGINAL_CACHE_CONTROL = "public, max-age=3600"

# Only images are ever stored; nothing else is served, so no uploaded HTML or
# script can run on the site's origin.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".avif": "image/avif",
}


def cache_control(name):
    if name.startswith(RENDITIONS_FOLDER):
        return RENDITION_CACHE_CONTROL
    return ORIGINAL_CACHE_CONTROL


@require_safe
def serve_media(request, path):
    relative = PurePosixPath(path)
    content_type = CONTENT_TYPES.get(relative.suffix.lower())
    if content_type is None or any(part.startswith(".") for part in relative.parts):
        raise Http404("No such media file.")
    try:
        full_path = Path(safe_join(settings.MEDIA_ROOT, path))
        status = full_path.stat()
    except (SuspiciousFileOperation, OSError, ValueError):
        raise Http404("No such media file.") from None
    if not stat.S_ISREG(status.st_mode):
        raise Http404("No such media file.")
    if not was_modified_since(
        request.META.get("HTTP_IF_MODIFIED_SINCE"), status.st_mtime
    ):
        response = HttpResponseNotModified()
    else:
        response = FileResponse(full_path.open("rb"), content_type=content_type)
        response["Last-Modified"] = http_date(status.st_mtime)
    response["Cache-Control"] = cache_control(str(relative))
    return response


def media_urlpatterns():
    """The route for MEDIA_URL, unless media lives in a bucket or elsewhere."""
    if settings.MEDIA_S3_BUCKET or "://" in settings.MEDIA_URL:
        return []
    prefix = settings.MEDIA_URL.lstrip("/")
    return [re_path(rf"^{prefix}(?P<path>.+)$", serve_media, name="media")]
