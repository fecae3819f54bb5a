"""Health check for load balancers, and a plain 503 when the database is away."""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


@never_cache
def healthz(request):
    """200 while the database answers, 503 when it does not.

    Pages are served without the cache (uncached, slower), so a cache that
    does not answer is reported as degraded, not as a reason to take this
    server out of the load balancer.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return HttpResponse(
            "unavailable: database\n", content_type="text/plain", status=503
        )
    try:
        cache.get("healthz")
    except Exception:  # Whatever the backend raises, it is not answering.
        return HttpResponse("ok, degraded: cache\n", content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def database_unavailable(request, exception):
    """The 503 page if the exception says the database is away, else None."""
    if isinstance(exception, (OperationalError, InterfaceError)):
        logger.error("Database unavailable for %s: %s", request.path, exception)
        return service_unavailable()
    return None


def service_unavailable():
    """A styled page that needs no database: no request context, no queries."""
    response = HttpResponse(
        render_to_string("503.html", {"SITE_NAME": settings.SITE_NAME}), status=503
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a 503 instead of a 500.

    Django drops the broken connection at the end of the request, so pages
    come back by themselves once the database does. This sees what views
    raise; what fails outside a view (loading a session, a 404 page's context)
    reaches the 500 handler, which answers the same (articles.views.server_error).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return database_unavailable(request, exception)
