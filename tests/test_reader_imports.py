"""A worker that only serves readers never loads the editing-only libraries.

Pillow (decoding uploads, making renditions) and nh3 (cleaning a body on save)
cost every worker memory; readers' pages only name renditions and show bodies
cleaned when they were saved. Neither do libraries for services the site is
not configured to use. A fresh process serves reader pages through the
WSGI application, as a gunicorn worker would, and says what it imported.
"""

import json

from tests.services import Site, run_python
from tests.test_read_only_database import PAGES, SEED, wait_for_the_scheduled_story

# Pillow and nh3 for editing; Sentry's SDK and the S3 client only where they
# are configured (they are not here).
EDITING_ONLY = ["PIL", "nh3", "sentry_sdk", "boto3", "botocore", "storages"]

SERVE = """
import json, sys
import django
django.setup()
from django.test import Client

reader = Client(HTTP_HOST="localhost")
statuses = {path: reader.get(path).status_code for path in json.loads(sys.argv[1])}
loaded = [name for name in json.loads(sys.argv[2]) if name in sys.modules]
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_serving_readers_loads_no_editing_only_library(tmp_path, prepared_site):
    site = Site.from_prepared(tmp_path, prepared_site)
    site.shell(SEED)
    wait_for_the_scheduled_story()

    result = run_python(site.env, SERVE, json.dumps(PAGES), json.dumps(EDITING_ONLY))

    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(served["statuses"].values()) == {200}
    assert served["loaded"] == []
