from django.db import migrations

from articles.migrations._editors import EDITORS, grant

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
    grant(apps, EDITOR_PERMISSIONS)


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
