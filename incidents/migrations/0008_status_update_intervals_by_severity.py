from django.db import migrations

# The worse the incident, the more often the people waiting on it want to hear something.
MINUTES_BY_LEVEL = {1: 30, 2: 60, 3: 120, 4: 240}


def set_intervals(apps, schema_editor):
    Severity = apps.get_model("incidents", "Severity")
    for level, minutes in MINUTES_BY_LEVEL.items():
        Severity.objects.filter(level=level).update(status_update_every_minutes=minutes)


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_active_response_roles_updates_quiet_reminders")]

    operations = [migrations.RunPython(set_intervals, migrations.RunPython.noop)]
