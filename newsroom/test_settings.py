"""Settings for the test suite: the real settings with a throwaway key."""

import os

# Not a secret: it only signs sessions of test databases that live for one run.
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-not-used-in-production")

from newsroom.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    # Tests render templates without running collectstatic first.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves from the finders in tests; it wants STATIC_ROOT to exist.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
# Django's test client logs in without a request, which the login throttle
# refuses; tests/test_security.py turns it on to test it.
AXES_ENABLED = False
