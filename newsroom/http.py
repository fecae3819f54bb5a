"""Policies every response shares: host check, upload limit, client address,
static caching."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from django.template import loader
from django.views import defaults

ONE_YEAR = 365 * 24 * 60 * 60


class AllowedHostMiddleware:
    """Answer 400 to a Host not in ALLOWED_HOSTS, before anything is served.

    Django checks the host only when something asks for it; static files and
    cached pages are answered before anything does.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.get_host()  # Raises DisallowedHost, which Django turns into 400.
        return self.get_response(request)


def client_ip(request):
    """The reader's address, as the login throttle counts it.

    Behind a proxy we trust (nginx on the same machine by default), the
    address is the one the proxy saw and passed in X-Real-IP; from anyone
    else the header is ignored, so it cannot be forged to dodge the throttle.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if remote in settings.TRUSTED_PROXIES:
        return request.META.get("HTTP_X_REAL_IP", remote).strip() or remote
    return remote


def cache_hashed_files_for_a_year(headers, path, url):
    """WhiteNoise marks hashed files immutable for ten years; a year is the
    longest lifetime HTTP caches are asked to honour."""
    if "immutable" in headers.get("Cache-Control", ""):
        headers["Cache-Control"] = f"max-age={ONE_YEAR}, public, immutable"


def request_too_large(request=None, exception=None):
    """The site's 413 page. Rendered without the request or the database, so
    `manage.py nginx_limits` can write the same page for nginx to serve."""
    page = loader.render_to_string(
        "413.html",
        {
            "SITE_NAME": settings.SITE_NAME,
            "upload_max_mb": settings.UPLOAD_MAX_MB,
            "request_max_mb": settings.REQUEST_MAX_MB,
        },
    )
    return HttpResponse(page, status=413)


class UploadLimitMiddleware:
    """Answer 413 to a request body over REQUEST_MAX_BYTES before anything
    reads it: the same limit, and the same page, as nginx in front."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_MAX_BYTES:
            return request_too_large(request)
        return self.get_response(request)


def bad_request(request, exception):
    """Django's 400, except form text over the limit (RequestDataTooBig, seen
    when a body comes without a Content-Length) gets the 413 page."""
    if isinstance(exception, RequestDataTooBig):
        return request_too_large(request, exception)
    return defaults.bad_request(request, exception)
