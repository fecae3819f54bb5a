"""Policies every response shares: host check, client address, static caching."""

from django.conf import settings

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
