"""Background work for postmortems: thin wrappers that own only their retry policy."""

from __future__ import annotations

from celery import shared_task

from postmortems.models import SummaryDelivery
from postmortems.publishing import summary_deliver

RETRY_SECONDS = 60


@shared_task(bind=True, max_retries=None)
def deliver_summary(self, delivery_id: int) -> None:
    delivery = summary_deliver(delivery_id)
    # summary_deliver counts the attempts and puts a delivery back to waiting only while
    # another try may help, so the number of retries is bounded there.
    if delivery is not None and delivery.status == SummaryDelivery.Status.PENDING:
        raise self.retry(countdown=RETRY_SECONDS * delivery.attempts)
