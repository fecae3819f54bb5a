"""Signal receivers: what must happen however content changes (admin, import, code)."""

from django.db import connections
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save

from articles.cache import content_changed, forget_generation
from articles.ingest.duplicates import BodyBand
from articles.models import ImportRun, ImportRunFile, PageGeneration

# Records no page shows: saving them leaves cached pages as they are.
NOT_CONTENT = (PageGeneration, BodyBand, ImportRun, ImportRunFile)


def content_saved_or_deleted(sender, using, **kwargs):
    content_changed(using)


def content_relations_changed(sender, action, using, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        content_changed(using)


def schema_migrated(sender, using, **kwargs):
    # A deploy runs migrate: pages made by the previous code go stale with it.
    # (Not when migrating back to before the table existed.)
    tables = connections[using].introspection.table_names()
    if PageGeneration._meta.db_table in tables:
        forget_generation(using)


def connect(app_config):
    """Invalidate cached pages on any change to any model of the app.

    Every model, including ones added later and the automatic many-to-many
    tables, so nobody has to remember to register a new one here.
    """
    for model in app_config.get_models(include_auto_created=True):
        if model in NOT_CONTENT:
            continue
        post_save.connect(content_saved_or_deleted, sender=model)
        post_delete.connect(content_saved_or_deleted, sender=model)
        m2m_changed.connect(content_relations_changed, sender=model)
    post_migrate.connect(schema_migrated, sender=app_config)
