"""The site's URLs plus probe views whose responses the page cache must refuse.

Used with @pytest.mark.urls("tests.probe_urls"): each probe stands for a kind of
response a real view gives (a draft preview, altered search input, a form that
sets a cookie).
"""

import sys

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.cache import never_cache

from newsroom.urls import urlpatterns as site_urlpatterns


def private(request):
    response = HttpResponse(f"private {request.GET.urlencode()}")
    response["Cache-Control"] = "private"
    return response


@never_cache
def never_cached(request):
    return HttpResponse("never cached")


def sets_cookie(request):
    response = HttpResponse("cookie")
    response.set_cookie("seen", "yes")
    return response


def varies_on_language(request):
    response = HttpResponse(request.headers.get("Accept-Language", ""))
    response["Vary"] = "Accept-Language"
    return response


def plain(request):
    return HttpResponse("plain page")


def broken(request):
    raise RuntimeError("a bug in a view")


def sqlite_cache_size(request):
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return HttpResponse(str(cursor.fetchone()[0]))


def python_optimize(request):
    return HttpResponse(str(sys.flags.optimize))


urlpatterns = [
    path("probe/private/", private),
    path("probe/never-cached/", never_cached),
    path("probe/sets-cookie/", sets_cookie),
    path("probe/varies-on-language/", varies_on_language),
    path("probe/plain/", plain),
    path("probe/broken/", broken),
    path("probe/sqlite-cache-size/", sqlite_cache_size),
    path("probe/python-optimize/", python_optimize),
    *site_urlpatterns,
]
