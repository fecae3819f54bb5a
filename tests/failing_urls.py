"""The site's URLs plus one view that fails, for testing the 500 page."""

from django.urls import path

from newsroom.urls import handler500  # noqa: F401  (Django reads it from here)
from newsroom.urls import urlpatterns as site_urlpatterns


def explode(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("explode/", explode), *site_urlpatterns]
