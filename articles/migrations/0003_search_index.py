from django.db import migrations

from articles import search


def create_search_index(apps, schema_editor):
    search.create_index(schema_editor.connection)


def drop_search_index(apps, schema_editor):
    search.drop_index(schema_editor.connection)


class Migration(migrations.Migration):
    """The full-text index: FTS5 on SQLite, tsvector + GIN on PostgreSQL.

    It lives outside the model (see articles/search.py), so this migration has
    no state operations and creates it with raw SQL.
    """

    dependencies = [("articles", "0002_editors_group")]

    operations = [migrations.RunPython(create_search_index, drop_search_index)]
