"""Running queued background tasks inside a test, with the worker's own code.

A test inside a transaction (pytest-django's `db`) holds rows no other process
can see, and never commits, so nothing it enqueues on commit reaches a queue by
itself. `committed()` runs the on-commit callbacks (the enqueueing) at the end
of its block, and `run_queued_tasks()` runs what the database queue holds, as
`manage.py db_worker` does: claim each task, then its Worker.run_task. The
worker processes themselves, on both backends, are tested in
tests/test_background_tasks.py.
"""

from django.db import transaction
from django.test import TestCase
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

WORKER_ID = "test-in-process"


def committed():
    """Run the block's on-commit callbacks when it ends, as a commit would."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def run_queued_tasks():
    """Run every queued task in this process; the number run. A task that
    fails fails the test, with its traceback."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=WORKER_ID,
        excluded_queue_names=[],
    )
    ran = 0
    while True:
        with transaction.atomic():
            queued = DBTaskResult.objects.ready().get_locked()
            if queued is None:
                return ran
            queued.claim(WORKER_ID)
        worker.run_task(queued)
        ran += 1
        queued.refresh_from_db()
        assert queued.status == "SUCCESSFUL", queued.traceback
