from django.contrib.auth.management import create_permissions
from django.db import migrations

EDITORS = "Editors"

# codename -> what Editors may do. They edit content but never delete
# articles and never manage users or groups.
EDITOR_PERMISSIONS = [
    "add_article",
    "change_article",
    "view_article",
    "add_person",
    "change_person",
    "view_person",
    "add_relatedlink",
    "change_relatedlink",
    "view_relatedlink",
    "delete_relatedlink",
    "add_topic",
    "change_topic",
    "view_topic",
    "delete_topic",
    "add_taggedarticle",
    "change_taggedarticle",
    "view_taggedarticle",
    "delete_taggedarticle",
]


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations run; create them
    # now so the group can be given them on a fresh database.
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


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
