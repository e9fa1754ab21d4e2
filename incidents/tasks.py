"""Celery tasks: thin wrappers over the plain functions, owning only their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from incidents import quiet


@shared_task(name="incidents.tasks.send_quiet_reminders", autoretry_for=(DatabaseError,))
def send_quiet_reminders() -> int:
    """Run every few minutes; a second run in the same interval sends nothing."""
    return len(quiet.send_quiet_reminders())
