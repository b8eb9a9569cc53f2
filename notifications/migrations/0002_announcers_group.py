from django.contrib.auth.management import create_permissions
from django.db import migrations

ANNOUNCERS = "Announcers"
PERMISSIONS = [
    "add_announcement",
    "change_announcement",
    "view_announcement",
    "add_announcementupdate",
    "change_announcementupdate",
    "view_announcementupdate",
    "view_dispatch",
    "view_outgoingmessage",
    "view_subscriber",
    "add_calendarexception",
    "change_calendarexception",
    "view_calendarexception",
    "view_openinghours",
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; create ours now to assign them.
    config = apps.get_app_config("notifications")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=ANNOUNCERS)
    permission_model = apps.get_model("auth", "Permission")
    for codename in PERMISSIONS:
        group.permissions.add(
            permission_model.objects.get(content_type__app_label="notifications", codename=codename)
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ANNOUNCERS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
