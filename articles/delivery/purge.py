"""Tell shared caches (Varnish, a CDN) which keys a committed change bumped.

With PURGE_URL set, each transaction that bumps keys sends them there once it
commits: a POST with an `xkey-purge` header (Varnish with the xkey vmod, see
deploy/varnish/default.vcl) and a JSON body {"keys": [...]} for a CDN's
purge-by-tag endpoint behind a small adapter. It runs in a background thread
with a short timeout: a slow or failing purge is logged and never holds up or
breaks the save; the shared cache then keeps the page until its s-maxage ends.
"""

import json
import logging
import threading
import urllib.request

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 2.0
XKEY_HEADER = "xkey-purge"


def after_commit(keys, using):
    if not settings.PURGE_URL:
        return
    keys = sorted(keys)
    transaction.on_commit(lambda: send_in_background(keys), using=using)


def send_in_background(keys):
    thread = threading.Thread(
        # Not a daemon: a management command waits for it before exiting.
        target=send,
        args=(keys,),
        name="delivery-purge",
        daemon=False,
    )
    thread.start()
    return thread


def send(keys, url=None):
    """Purge keys at the shared cache now; True when it answered 2xx."""
    url = url or settings.PURGE_URL
    request = urllib.request.Request(
        url,
        data=json.dumps({"keys": list(keys)}).encode(),
        method="PURGE",
        headers={XKEY_HEADER: " ".join(keys), "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return 200 <= response.status < 300
    except Exception:  # Refused, timed out, 4xx/5xx: the save stands regardless.
        logger.warning("Purging %d keys at %s failed", len(keys), url, exc_info=True)
        return False
