from django.db import migrations

# django-reversion finds an object's latest version with
#   WHERE content_type_id = ? AND db = ? AND object_id = ? ORDER BY id DESC LIMIT 1
# (to skip duplicate revisions). Its own indexes do not serve that order, so
# SQLite walks the whole table backwards, and every import slows as the archive
# grows. With this index the lookup is one index probe on any database.
INDEX = "articles_reversion_version_latest"


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0007_page_generation"),
        ("reversion", "0002_add_index_on_version_for_content_type_and_db"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON reversion_version "
            "(content_type_id, db, object_id, id)",
            f"DROP INDEX IF EXISTS {INDEX}",
        )
    ]
