"""One log line per event, with the request it belongs to.

Every line is `key=value` pairs (logfmt): the time, level, logger, the request
id and the message, then the event's own fields; a traceback is folded into
one quoted `exc=` value, so a log shipper never splits an error in two. The
request id comes from the load balancer's X-Request-ID or is made here, and is
sent back in the response's X-Request-ID, so a reader's report, nginx's log
and an error report (Sentry's `request_id` tag) name the same request.
"""

import contextvars
import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from django.conf import settings

request_id_var = contextvars.ContextVar("request_id", default="-")
logger = logging.getLogger("newsroom.request")

# What we accept from the load balancer: an id, not a place to inject text.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BARE_VALUE = re.compile(r'[^\s"=\\]+')


def logfmt_value(value):
    value = str(value)
    return value if BARE_VALUE.fullmatch(value) else json.dumps(value)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record (`-` outside a request)."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class KeyValueFormatter(logging.Formatter):
    def format(self, record):
        pairs = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "msg": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            pairs["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            pairs["exc"] = record.exc_text
        return " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs.items())


class RequestLogMiddleware:
    """Outermost middleware: gives each request its id and logs its outcome
    (method, path, status, time in ms) once it is answered."""

    def __init__(self, get_response):
        self.get_response = get_response
        # sentry_sdk (and urllib3 under it) only where it reports: unused, it
        # would cost every worker a few megabytes.
        self.sentry_sdk = None
        if settings.SENTRY_DSN:
            import sentry_sdk

            self.sentry_sdk = sentry_sdk

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = (
            incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        request.request_id = request_id
        token = request_id_var.set(request_id)
        if self.sentry_sdk:
            self.sentry_sdk.set_tag("request_id", request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            logger.log(
                logging.ERROR if response.status_code >= 500 else logging.INFO,
                "request",
                extra={
                    "fields": {
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "pid": os.getpid(),
                    }
                },
            )
            return response
        finally:
            request_id_var.reset(token)
