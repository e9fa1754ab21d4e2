from django.db import migrations

SEVERITIES = [
    (1, "Critical: the product is down or data is at risk for many customers.", True),
    (2, "Major: a core feature is broken or badly degraded for many customers.", True),
    (3, "Minor: a feature is degraded for some customers, with a workaround.", False),
    (4, "Low: little or no customer impact; worth learning from.", False),
]


def create_severities(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    for level, meaning, full in SEVERITIES:
        Severity.objects.get_or_create(
            level=level, defaults={"meaning": meaning, "full_postmortem": full}
        )


class Migration(migrations.Migration):
    dependencies = [("incidents", "0001_initial")]

    operations = [migrations.RunPython(create_severities, migrations.RunPython.noop)]
