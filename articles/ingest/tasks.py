"""Background work of ingest, through Django's task API (django-tasks): a worker
(`manage.py db_worker`, or `manage.py rqworker default` with RQ) runs it."""

from django_tasks import task

from articles.ingest import uploads


@task()
def import_upload(run_id):
    """Import the files of an upload an editor confirmed (ImportRun `run_id`)."""
    uploads.import_confirmed(run_id)
