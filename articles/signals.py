"""Signal receivers: what must happen however content changes (admin, import, code)."""

from django.db import connections
from django.db.models.signals import (
    m2m_changed,
    post_delete,
    post_init,
    post_migrate,
    post_save,
)

from articles.delivery import changes
from articles.delivery.keys import forget_generation
from articles.models import Article, PageGeneration


def schema_migrated(sender, using, **kwargs):
    # A deploy runs migrate: pages made by the previous code go stale with it.
    # (Not when migrating back to before the table existed.)
    tables = connections[using].introspection.table_names()
    if PageGeneration._meta.db_table in tables:
        forget_generation(using)


def connect(app_config):
    """Bump the delivery keys of any change to any model of the app.

    Every model, including ones added later and the automatic many-to-many
    tables, so nobody has to remember to register a new one here
    (articles/delivery/changes.py says which keys each one moves).
    """
    for model in app_config.get_models(include_auto_created=True):
        post_save.connect(changes.saved, sender=model)
        post_delete.connect(changes.deleted, sender=model)
        m2m_changed.connect(changes.relations_changed, sender=model)
    post_init.connect(changes.remember_loaded_state, sender=Article)
    post_migrate.connect(schema_migrated, sender=app_config)
