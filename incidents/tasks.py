"""Celery tasks: thin wrappers over the plain functions, owning only their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from incidents import quiet, status_updates
from incidents.models import StatusUpdate


@shared_task(name="incidents.tasks.send_quiet_reminders", autoretry_for=(DatabaseError,))
def send_quiet_reminders() -> int:
    """Run every few minutes; a second run in the same interval sends nothing."""
    return len(quiet.send_quiet_reminders())


@shared_task(name="incidents.tasks.send_status_update")
def send_status_update(update_id: int) -> int:
    update = (
        StatusUpdate.objects.select_related("incident__severity", "incident__team")
        .filter(pk=update_id)
        .first()
    )
    return len(status_updates.status_update_deliver(update)) if update else 0
