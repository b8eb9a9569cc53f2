from django.contrib.auth.management import create_permissions
from django.db import migrations

KB_EDITORS = "KB editors"
# What an editor needs to curate the knowledge base, and nothing more: no deleting articles
# (archive instead), no users, no other apps.
PERMISSIONS = [
    ("kb", "add_article"),
    ("kb", "change_article"),
    ("kb", "view_article"),
    ("kb", "view_articlerevision"),
    ("kb", "add_category"),
    ("kb", "change_category"),
    ("kb", "view_category"),
    ("kb", "view_articlefeedback"),
    ("kb", "view_searchlog"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; create kb's now to assign them.
    kb_config = apps.get_app_config("kb")
    kb_config.models_module = True
    create_permissions(kb_config, apps=apps, verbosity=0)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=KB_EDITORS)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=KB_EDITORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("kb", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
