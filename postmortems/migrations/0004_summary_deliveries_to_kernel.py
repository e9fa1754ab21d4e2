"""Summary deliveries move to the one delivery engine's table, keeping their log."""

from django.db import migrations


def copy_to_kernel(apps, schema_editor):
    SummaryDelivery = apps.get_model("postmortems", "SummaryDelivery")
    Delivery = apps.get_model("kernel", "Delivery")
    rows = []
    for old in SummaryDelivery.objects.select_related("team").iterator():
        if old.channel == "slack":
            address = {"team": old.team_id, "team_name": old.team.name if old.team else ""}
        else:
            address = {"to": old.recipients or []}
        rows.append(
            Delivery(
                topic="summary",
                subject_id=old.publication_id,
                channel=old.channel,
                address=address,
                status=old.status,
                attempts=old.attempts,
                next_attempt_at=old.created_at,
                # The old table kept no claim time; the reaper needs one to see it stuck.
                claimed_at=old.created_at if old.status == "sending" else None,
                sent_at=old.sent_at,
                error=old.error,
                created_at=old.created_at,
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("postmortems", "0003_conflict_copies"),
        ("kernel", "0001_delivery"),
    ]

    operations = [
        # Going back recreates the old table empty; the log stays in the kernel's table.
        migrations.RunPython(copy_to_kernel, migrations.RunPython.noop),
        migrations.DeleteModel(name="SummaryDelivery"),
    ]
