"""Background work on photos, through Django's task API (django-tasks).

A worker runs the tasks: `manage.py db_worker` with the database backend (the
default; `make run` starts one beside gunicorn), or `manage.py rqworker
default` when TASKS_REDIS_URL puts the queue on Redis (newsroom/settings.py).
"""

from functools import partial

from django.db import router, transaction
from django.utils import timezone
from django_tasks import task

from articles import renditions
from articles.delivery import keys
from articles.models import Image


@task()
def make_renditions(image_id):
    """Make the photo's renditions not stored yet; the number made.

    Enqueued when an upload (or a new focal point) commits. Safe to run again
    or twice at once: only missing renditions are made, and a photo deleted
    before its turn leaves nothing to do.
    """
    image = Image.objects.filter(pk=image_id).first()
    if image is None:
        return 0
    return make_missing_renditions(image)


def make_missing_renditions(image):
    """Make and record the renditions the image lacks; the number made.

    A format at a time, quickest first, each recorded as soon as it is stored,
    so pages use the JPEGs while the WebP and AVIF files are still encoding.
    """
    made = 0
    for group in renditions.by_format(renditions.missing(image)):
        made += len(renditions.generate(image, group))
        if not record_renditions(image, [rendition.name for rendition in group]):
            break  # replaced, re-cropped or deleted: its own task takes over
    return made


def record_renditions(image, names):
    """Add stored renditions to the image's record, and make pages show them;
    whether the image is still as `image` has it.

    The photo may have been replaced, re-cropped or deleted while they were
    made: names it no longer plans are not recorded, and their files go.
    """
    using = image._state.db or router.db_for_write(Image)
    storage = image.file.storage
    with transaction.atomic(using=using):
        images = Image.objects.using(using)
        current = images.select_for_update().filter(pk=image.pk).first()
        planned = renditions.stored_names(current) if current else set()
        stray = sorted(set(names) - planned)
        if stray:
            transaction.on_commit(partial(renditions.delete, storage, stray), using)
        if current is None:
            return False
        recorded = sorted(set(current.renditions_made) | (set(names) & planned))
        images.filter(pk=image.pk).update(
            renditions_made=recorded, updated_at=timezone.now()
        )
        # An update() sends no signal: the pages showing the photo must list
        # the new files (their ETags move with the key's version).
        keys.changed({keys.image(image.pk)}, using)
    unchanged = planned == renditions.stored_names(image)
    if unchanged:
        image.renditions_made = recorded
    return unchanged
