"""Celery tasks: thin wrappers over the plain functions, owning only their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from insights.digest import send_quarterly_digests


@shared_task(
    name="insights.tasks.send_quarterly_digests",
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=300,
    max_retries=5,
)
def send_quarterly_review() -> str:
    """The quarterly review to team leads; a second run sends nothing again."""
    return f"queued {len(send_quarterly_digests())}"


@shared_task(name="insights.tasks.refresh_figures", ignore_result=True)
def refresh_figures() -> str:
    """The insights figures readers asked for recently, computed again after a save."""
    from insights.cache import refresh

    return f"refreshed {refresh()}"
