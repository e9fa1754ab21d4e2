"""Celery tasks of the delivery engine: thin wrappers that own only their retry policy."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from kernel import delivery as engine
from kernel.models import Delivery


@shared_task(name="kernel.tasks.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """Send one delivery now; while a later try may help, come back when it is due.

    The engine counts the attempts and puts a delivery back to waiting only while another try
    may help, so the retries are bounded there. Running this twice sends once: the claim is a
    conditional UPDATE.
    """
    sent = engine.deliver_one(delivery_id)
    if sent is not None and sent.status == Delivery.Status.PENDING:
        wait = (sent.next_attempt_at - timezone.now()).total_seconds()
        raise self.retry(countdown=max(wait, 0))


@shared_task(
    name="kernel.tasks.deliver_due", autoretry_for=(DatabaseError,), retry_backoff=30, max_retries=3
)
def deliver_due() -> str:
    """The sweep: whatever is due and was never picked up, and the reaper's look."""
    report = engine.deliver_due()
    return f"{report.sent} sent, {report.failed} failed, {report.reaped} cut off mid-send"
