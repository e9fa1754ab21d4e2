from django.db import migrations

READ_ONLY_GROUP = "Read-only"


def add_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=READ_ONLY_GROUP)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=READ_ONLY_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("incidents", "0005_access_roles_audit_log"),
    ]

    operations = [migrations.RunPython(add_group, remove_group)]
