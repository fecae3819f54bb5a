"""The production WSGI application with the probe views (tests/probe_urls.py),
for a served test that needs a view to fail: `Site.server(app="tests.probe_wsgi")`."""

from django.conf import settings

from newsroom.wsgi import application  # noqa: F401  (gunicorn serves it)

settings.ROOT_URLCONF = "tests.probe_urls"
