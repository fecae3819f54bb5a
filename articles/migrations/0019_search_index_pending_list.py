from django.db import migrations

from articles import search


def pending_list_on(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER INDEX articles_article_search_document SET ({search.PENDING_LIST})"
        )


def pending_list_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT gin_clean_pending_list('articles_article_search_document'::regclass)"
        )
        schema_editor.execute(
            "ALTER INDEX articles_article_search_document SET (fastupdate = off)"
        )


class Migration(migrations.Migration):
    """PostgreSQL's search index takes new entries in a pending list, merged in
    bulk (articles/search.py: PENDING_LIST); nothing changes on SQLite."""

    dependencies = [("articles", "0018_image_renditions_made")]

    operations = [migrations.RunPython(pending_list_on, pending_list_off)]
