"""Newsroom settings, read from the environment with safe local defaults.

Every variable is documented in README.md. Nothing secret lives in this file:
with debug off the site refuses to start without DJANGO_SECRET_KEY.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from newsroom.http import cache_hashed_files_for_a_year

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NEWSROOM_VAR_DIR", BASE_DIR / "var"))


def env_flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    value = os.environ.get(name, default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_whole_number(name, default, unit, minimum=1):
    value = os.environ.get(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of {unit}, got {value!r}."
        ) from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}.")
    return number


DEBUG = env_flag("DJANGO_DEBUG")

SECRET_KEY_FILE = Path(os.environ.get("DJANGO_SECRET_KEY_FILE", VAR_DIR / "secret_key"))
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY and SECRET_KEY_FILE.is_file():
    # The key `make run` generated once for this checkout (var/ is never committed).
    SECRET_KEY = SECRET_KEY_FILE.read_text().strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set; set it (make run generates one in var/) "
            "or set DJANGO_DEBUG=1 for local development."
        )
    # Debug only: a per-process random key, so nothing secret is ever committed.
    from django.core.management.utils import get_random_secret_key

    SECRET_KEY = get_random_secret_key()

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")


def local_site_url(host, port):
    """Where `make run` serves when no SITE_URL is set: the HOST and PORT that
    gunicorn.conf.py binds to (a wildcard address is reached on loopback)."""
    if host in {"", "0.0.0.0", "::", "[::]"}:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return f"http://{host}:{port}"


# Every absolute URL (canonical links, feeds, sitemaps, social cards) is built
# from this one setting, never from the request's Host header.
SITE_URL = os.environ.get("SITE_URL") or local_site_url(
    os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
)
SITE_URL = SITE_URL.rstrip("/")
SITE_NAME = os.environ.get("SITE_NAME", "Newsroom")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "taggit",
    "reversion",
    "axes",
    "django_tasks",
    "django_tasks_db",
    # Only for its static files: the ProseMirror build of the body editor.
    "django_prose_editor",
    "articles",
]

MIDDLEWARE = [
    # First: every response, even a refused one, is logged with its request id.
    "newsroom.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Above WhiteNoise, so static files carry these headers and the host check.
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "newsroom.http.AllowedHostMiddleware",
    "newsroom.http.UploadLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "articles.delivery.middleware.PageCacheMiddleware",
    "newsroom.health.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "articles.redirects.SlugRedirectMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "newsroom.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "newsroom.wsgi.application"


# Database: SQLite under var/ by default; DATABASE_URL=postgres://... selects
# PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, converting each statement's placeholders once
    # (newsroom/sqlite_engine/base.py).
    DATABASES["default"]["ENGINE"] = "newsroom.sqlite_engine"
    SQLITE_CACHE_KIB = env_whole_number("NEWSROOM_SQLITE_CACHE_KIB", 2000, "KiB")
    SQLITE_CACHED_STATEMENTS = env_whole_number(
        "NEWSROOM_SQLITE_CACHED_STATEMENTS", 128, "statements"
    )
    DATABASES["default"]["OPTIONS"] = {
        # Compiled statements each connection keeps for reuse (Python's own
        # 128 unless set: gunicorn.conf.py gives the web workers fewer).
        "cached_statements": SQLITE_CACHED_STATEMENTS,
        # Writers take the lock when their transaction starts and wait for it,
        # instead of failing half-way with "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # WAL lets readers go on while an import writes; NORMAL keeps a commit
        # per imported file cheap while staying safe against corruption.
        # cache_size: KiB of pages each connection keeps (SQLite's own 2000
        # unless set: gunicorn.conf.py gives the web workers less).
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
        f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable server fails fast (a 503) instead of hanging workers.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# Cache: Redis shared by every worker and server when REDIS_URL is set.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "newsroom"),
            # A Redis that stops answering costs a request a fraction of a
            # second, then pages are served uncached (articles/delivery/).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    # Files under var/: shared by every worker process of the machine.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    }

# Background work (Django's task API, backported by django-tasks): in the
# database by default, so one machine needs no extra service (`manage.py
# db_worker` runs it); on Redis with RQ when TASKS_REDIS_URL is set, for several
# machines (`manage.py rqworker default --job-class django_tasks_rq.Job`).
TASKS_REDIS_URL = os.environ.get("TASKS_REDIS_URL", "")
if TASKS_REDIS_URL:
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": TASKS_REDIS_URL}}
    # The job class django-tasks-rq's jobs need, so a plain `rqworker default`
    # runs them (without it each fails: "'Task' object is not callable").
    RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend"}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Story files editors upload in the admin wait here between their dry run and
# the background import (articles/ingest/uploads.py): private, outside
# MEDIA_ROOT, which is served. Several machines running workers must share it.
IMPORT_UPLOADS_ROOT = Path(
    os.environ.get("IMPORT_UPLOADS_ROOT", VAR_DIR / "import-uploads")
)

# Reader pages (articles/delivery/): browsers keep them briefly, a proxy or CDN
# a little longer; the app's own copy lasts until the next content change.
PAGE_CACHE_ENABLED = True
PAGE_CACHE_CONTROL = "public, max-age=30, s-maxage=60, stale-while-revalidate=30"
PAGE_CACHE_TIMEOUT = 600
# Where committed changes send the keys they bumped (Varnish with xkey, or an
# adapter to a CDN's purge by tag; deploy/README.md). Set, a shared cache may
# keep pages for a day: it hears of every change.
PURGE_URL = os.environ.get("PURGE_URL", "")
PAGE_CACHE_CONTROL_PURGED = (
    "public, max-age=30, s-maxage=86400, stale-while-revalidate=30"
)


AUTHENTICATION_BACKENDS = [
    # Refuses logins while an account or address is locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Only staff sign in, through the admin (also where a password reset ends).
LOGIN_URL = "admin:login"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_ADD_HEADERS_FUNCTION = cache_hashed_files_for_a_year

TAGGIT_CASE_INSENSITIVE = True


# Media: uploaded photos and their renditions. On disk under var/media/ and
# served by the app itself (articles/media.py) unless MEDIA_S3_BUCKET puts them
# in an S3 bucket that every app server shares. The S3 credentials come from
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the instance's role).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_S3_BUCKET = os.environ.get("MEDIA_S3_BUCKET", "")
MEDIA_S3_CUSTOM_DOMAIN = os.environ.get("MEDIA_S3_CUSTOM_DOMAIN", "")


def s3_media_origin(bucket, endpoint_url, custom_domain):
    """The one origin photo URLs point at when they live in a bucket, as
    django-storages and boto3 build them (tests/test_s3_storage.py compares):
    the CDN host; else the S3-compatible service, which is addressed by path;
    else AWS's host for the bucket (the same in every region)."""
    if custom_domain:
        return f"https://{custom_domain}"
    if endpoint_url:
        scheme, _, rest = endpoint_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"
    return f"https://{bucket}.s3.amazonaws.com"


# The origin of photo URLs, when not the site itself: img-src allows it.
MEDIA_ORIGIN = None
if MEDIA_S3_BUCKET:
    MEDIA_ORIGIN = s3_media_origin(
        MEDIA_S3_BUCKET,
        os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
        MEDIA_S3_CUSTOM_DOMAIN or None,
    )
if MEDIA_S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "articles.storage.MediaS3Storage",
        "OPTIONS": {
            "bucket_name": MEDIA_S3_BUCKET,
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            # e.g. a CDN host name in front of the bucket.
            "custom_domain": MEDIA_S3_CUSTOM_DOMAIN or None,
            # Photos are public: plain, cacheable URLs rather than signed ones.
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }


# The largest photo, in whole megabytes. One value for every layer: the photo
# check refuses a bigger file (articles/images.py), and a request bigger than
# the photo and its form is refused with the site's own 413 page, by the app
# (newsroom/http.py) and by nginx, whose client_max_body_size is written from
# it by `manage.py nginx_limits`.
UPLOAD_MAX_MB = env_whole_number("NEWSROOM_UPLOAD_MAX_MB", 20, "megabytes")
UPLOAD_MAX_BYTES = UPLOAD_MAX_MB * 1024 * 1024
# A request carries the photo and the rest of its form: one megabyte more, so a
# photo just over the limit gets the form's exact error, not the 413 page.
REQUEST_MAX_MB = UPLOAD_MAX_MB + 1
REQUEST_MAX_BYTES = REQUEST_MAX_MB * 1024 * 1024
# Form text is held in memory up to the same limit (Django's default, 2.5 MB,
# would refuse a long pasted story the limit promises); a file over
# FILE_UPLOAD_MAX_MEMORY_SIZE still streams to a temporary file.
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES


# Email: the admin's password reset mails (newsroom/password_reset.py). Sent by
# SMTP when EMAIL_HOST is set; otherwise Django's console backend prints each
# mail to the server's log, which suits one machine and development.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")


# HTTPS: set DJANGO_HTTPS=1 when the site is served over HTTPS (directly or
# behind a proxy that sets X-Forwarded-Proto).
HTTPS = env_flag("DJANGO_HTTPS")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline scripts or styles anywhere, the admin included.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Photos in a bucket or behind a CDN: that one origin, nothing wider.
        "img-src": [SELF, "data:", *filter(None, [MEDIA_ORIGIN])],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Admin login throttle (django-axes): after 5 failures for one account from
# one address, that account is refused from that address for 15 minutes.
# Never an account from everywhere (a stranger's guesses must not lock an
# editor out of their own desk), nor an address for everyone (a newsroom
# shares one office address).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "locked_out.html"
AXES_CLIENT_IP_CALLABLE = "newsroom.http.client_ip"
# Proxies whose X-Real-IP header is believed (nginx on this machine).
TRUSTED_PROXIES = env_list("DJANGO_TRUSTED_PROXIES", "127.0.0.1,::1")
SESSION_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers check health over plain HTTP and take a redirect as a failure.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", SITE_URL)


# One line per event on standard error (journald under systemd), key=value,
# each with its request id (newsroom/request_log.py); one line per request
# from newsroom.request, so gunicorn's own access log is off.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "newsroom.request_log.RequestIdFilter"}},
    "formatters": {"key_value": {"()": "newsroom.request_log.KeyValueFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "key_value",
        }
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "newsroom.request": {"level": os.environ.get("NEWSROOM_REQUEST_LOG", "INFO")},
        # Its "Not Found: /x" warnings repeat the request line; errors stay.
        "django.request": {"level": "ERROR"},
    },
}

# Error reports: with SENTRY_DSN set, unhandled errors go to Sentry (or any
# service that speaks its protocol). No personal data: no cookies, no user,
# no request bodies, no local variables (they may hold an editor's details).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT") or None,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        traces_sample_rate=0,
    )
    # The request line of a failed request is not a second error to report.
    from sentry_sdk.integrations.logging import ignore_logger

    ignore_logger("newsroom.request")
