"""Reminder deliveries move to the one delivery engine's table, keeping their log."""

from django.db import migrations


def copy_to_kernel(apps, schema_editor):
    NagDelivery = apps.get_model("actions", "NagDelivery")
    Delivery = apps.get_model("kernel", "Delivery")
    rows = []
    for old in NagDelivery.objects.select_related("nag__recipient", "team").iterator():
        if old.channel == "slack":
            address = {"team": old.team_id, "team_name": old.team.name if old.team else ""}
        else:
            address = {"to": [old.nag.recipient.email], "cc": old.cc or []}
        rows.append(
            Delivery(
                topic="reminder",
                subject_id=old.nag_id,
                channel=old.channel,
                address=address,
                status=old.status,
                attempts=old.attempts,
                next_attempt_at=old.next_attempt_at,
                claimed_at=old.claimed_at,
                sent_at=old.sent_at,
                error=old.error,
                created_at=old.nag.created_at,
            )
        )
    Delivery.objects.bulk_create(rows, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0002_follow_through"),
        ("kernel", "0001_delivery"),
    ]

    operations = [
        # Going back recreates the old table empty; the log stays in the kernel's table.
        migrations.RunPython(copy_to_kernel, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="nagdelivery", name="nag_delivery_queue_idx"),
        migrations.DeleteModel(name="NagDelivery"),
    ]
