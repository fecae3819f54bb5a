"""An upload's confirmed import runs in a real worker process, on each task
backend: the database's (`manage.py db_worker`) and RQ on Redis (`manage.py
rqworker`), with the admin served by gunicorn as in production."""

import json
import re
import subprocess
import sys

import pytest

from tests.services import (
    REDIS_URL,
    ROOT,
    Browser,
    Site,
    delete_redis_keys,
    drop_database,
    manage,
    require_postgres,
    require_redis,
)
from tests.test_importer import story
from tests.test_importer_images import photo_bytes

# This suite's own Redis database for RQ's queues (others use theirs).
TASKS_REDIS_URL = re.sub(r"/\d+$", "/12", REDIS_URL)
UPLOAD = "/admin/articles/importrun/upload/"
CREATE_EDITOR = """
from django.contrib.auth.models import Group, User
user = User.objects.create_user("editor", password="pw-editor-1", is_staff=True)
user.groups.add(Group.objects.get(name="Editors"))
"""
REPORT = """
import json
from articles.models import Article, Image
from articles.wire import ImportedSource
print(json.dumps({
    "articles": list(Article.objects.values_list("source", "status", "headline")),
    "photos": Image.objects.count(),
    "sources": ImportedSource.objects.count(),
}))
"""


def stored(site):
    return json.loads(manage(site.env, "shell", "-c", REPORT).splitlines()[-1])


def run_worker(site, backend):
    """A worker that takes what is queued, then exits (as a test needs)."""
    command = {
        "database": ["db_worker", "--batch", "--no-startup-delay"],
        # RQ runs django-tasks jobs with their own Job class.
        "rq": ["rqworker", "default", "--burst", "--job-class", "django_tasks_rq.Job"],
    }[backend]
    result = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=site.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(params=["database-sqlite", "rq-sqlite", "database-postgresql"])
def backend_site(request, tmp_path, prepared_site):
    backend, database = request.param.split("-")
    settings, database_url = {}, None
    if backend == "rq":
        require_redis()
        settings["TASKS_REDIS_URL"] = TASKS_REDIS_URL
        delete_redis_keys(TASKS_REDIS_URL, "rq")  # A queue left by an earlier run.
    if database == "postgresql":
        database_url = require_postgres()
    site = Site.from_prepared(
        tmp_path, prepared_site, database_url=database_url, **settings
    )
    if database_url:
        manage(site.env, "migrate", "--noinput", "--verbosity", "0")
    site.shell(CREATE_EDITOR)
    yield backend, site
    if backend == "rq":
        delete_redis_keys(TASKS_REDIS_URL, "rq")
    if database_url:
        drop_database(database_url)


def token_of(page):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


@pytest.mark.processes
def test_an_editors_confirmed_upload_is_imported_by_a_real_worker(backend_site):
    backend, site = backend_site
    with site.server(workers=2) as server:
        editor = Browser(server)
        editor.sign_in("editor", "pw-editor-1")
        form = editor.request(UPLOAD)
        assert form.status == 200 and "Story files" in form.text

        uploaded = editor.request(
            UPLOAD,
            "POST",
            {"csrfmiddlewaretoken": token_of(form), "draft": "on"},
            files=[
                ("files", "story.txt", story().encode()),
                ("files", "story.jpg", photo_bytes()),
            ],
        )
        assert uploaded.status == 302, uploaded.text
        dry_run_url = uploaded.headers["location"]
        dry_run = editor.request(dry_run_url)
        assert '<th scope="row">story.txt</th><td>would create</td>' in dry_run.text
        assert stored(site) == {"articles": [], "photos": 0, "sources": 0}
        assert len(list((site.var_dir / "import-uploads").rglob("story.*"))) == 2

        confirmed = editor.request(
            dry_run_url, "POST", {"csrfmiddlewaretoken": token_of(dry_run)}
        )
        assert confirmed.status == 302
        run_url = confirmed.headers["location"]
        queued = editor.request(run_url)
        assert "0 of 1 files done" in queued.text
        assert '<meta http-equiv="refresh"' in queued.text
        assert stored(site)["articles"] == []

        worker = run_worker(site, backend)

        done = editor.request(run_url)
        assert "1 of 1 files done: created 1" in done.text, worker.stderr[-3000:]
        assert '<th scope="row">story.txt</th><td>created</td>' in done.text
        assert '<meta http-equiv="refresh"' not in done.text
    assert stored(site) == {
        "articles": [["story.txt", "draft", "Minsk hosts talks on grain exports"]],
        "photos": 1,
        "sources": 1,
    }
    assert list((site.var_dir / "import-uploads").rglob("*")) == []
