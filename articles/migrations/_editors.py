"""The Editors group's permissions, as the data migrations 0002, 0005 and 0006 give
and take them. Migrations depend on this module: change it only in ways every one
of them still means. (Django's migration loader skips modules named with "_".)"""

from django.contrib.auth.management import create_permissions

EDITORS = "Editors"


def grant(apps, codenames):
    """Give the Editors group (made if missing) these permissions of the app."""
    # Permissions are normally created after all migrations run; create them now
    # so that a fresh database's group can be given them.
    app_config = apps.get_app_config("articles")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    editors, _ = Group.objects.get_or_create(name=EDITORS)
    editors.permissions.add(*_permissions(apps, codenames))


def revoke(apps, codenames):
    Group = apps.get_model("auth", "Group")
    for editors in Group.objects.filter(name=EDITORS):
        editors.permissions.remove(*_permissions(apps, codenames))


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(
        content_type__app_label="articles", codename__in=codenames
    )
