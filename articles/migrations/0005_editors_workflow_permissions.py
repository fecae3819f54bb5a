from django.db import migrations

from articles.migrations._editors import grant, revoke

# Editors keep an article's corrections: add, change and remove them.
EDITOR_PERMISSIONS = [
    "add_correction",
    "change_correction",
    "view_correction",
    "delete_correction",
]


def give_editors_correction_permissions(apps, schema_editor):
    grant(apps, EDITOR_PERMISSIONS)


def take_them_back(apps, schema_editor):
    revoke(apps, EDITOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_editorial_workflow")]

    operations = [
        migrations.RunPython(give_editors_correction_permissions, take_them_back)
    ]
