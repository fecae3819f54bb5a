"""gunicorn settings: the one place the production server is configured."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 5))
)
accesslog = "-"
graceful_timeout = 20
timeout = 30
