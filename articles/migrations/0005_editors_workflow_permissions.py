from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"

# Editors keep an article's corrections: add, change and remove them.
EDITOR_PERMISSIONS = [
    "add_correction",
    "change_correction",
    "view_correction",
    "delete_correction",
]


def give_editors_correction_permissions(apps, schema_editor):
    # As in 0002: permissions for the new model exist only after migrate ends.
    app_config = apps.get_app_config("articles")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="articles", codename__in=EDITOR_PERMISSIONS
        )
    )


def take_them_back(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for editors in Group.objects.filter(name=EDITORS):
        editors.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="articles", codename__in=EDITOR_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [("articles", "0004_editorial_workflow")]

    operations = [
        migrations.RunPython(give_editors_correction_permissions, take_them_back)
    ]
