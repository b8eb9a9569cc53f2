from django.contrib.auth.management import create_permissions
from django.db import migrations

INSIGHTS_READERS = "Insights readers"


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; create ours now to assign it.
    config = apps.get_app_config("insights")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name=INSIGHTS_READERS)
    group.permissions.add(
        apps.get_model("auth", "Permission").objects.get(
            content_type__app_label="insights", codename="view_insights"
        )
    )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=INSIGHTS_READERS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
