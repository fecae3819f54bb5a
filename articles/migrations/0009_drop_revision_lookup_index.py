from django.db import migrations

# 0008's index served django-reversion's "latest version of this object" lookup,
# which it makes only to skip duplicate revisions. Articles no longer ask for
# that (it missed changes to topics and links alone), and every other lookup of
# an object's versions uses reversion's own unique index on (db, content type,
# object id, revision). One index less to write for each version stored.
INDEX = "articles_reversion_version_latest"


class Migration(migrations.Migration):
    dependencies = [("articles", "0008_revision_lookup_index")]

    operations = [
        migrations.RunSQL(
            f"DROP INDEX IF EXISTS {INDEX}",
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON reversion_version "
            "(content_type_id, db, object_id, id)",
        )
    ]
