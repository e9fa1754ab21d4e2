from django.db import migrations

CATEGORIES = [
    ("Change or deploy", "A code, schema or infrastructure change set it off."),
    ("Capacity", "Load outgrew what the system was sized for."),
    ("Dependency", "Something we rely on, inside or outside, failed or slowed."),
    ("Configuration", "A setting, flag or secret was wrong or drifted."),
    ("Process", "A runbook, hand-over or review step was missing or not followed."),
    ("Detection gap", "We found out late: no alert, or an alert nobody saw."),
]


def seed(apps, schema_editor):
    CauseCategory = apps.get_model("postmortems", "CauseCategory")
    for position, (name, description) in enumerate(CATEGORIES):
        CauseCategory.objects.get_or_create(
            name=name, defaults={"description": description, "position": position}
        )


class Migration(migrations.Migration):
    dependencies = [("postmortems", "0006_cause_categories")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
