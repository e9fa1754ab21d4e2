"""The one way messages leave Hindsight: queued as Delivery rows, claimed, sent, recorded.

Two registries say what can go out and how:
- a *topic* is what a delivery carries (a reminder digest, a published summary). Its owner
  registers it with `register_topic(Topic(...))`: `prepare` loads what a batch of deliveries
  needs in a few queries, `compose` turns one delivery into a `Message`;
- a *channel* is how it goes (e-mail, Slack, later outbound webhooks or a ticket tracker).
  Its owner registers it with `register_channel(...)`: `send` delivers one message to the
  delivery's address or raises ChannelError, `describe` says where that is in words.
Apps register both in `AppConfig.ready()`; the engine imports no app.

Sending is safe to run in several processes at once and to run again after a crash:
1. Reap: a delivery "sending" for longer than `STUCK_AFTER` was cut off midway. It is marked
   failed rather than sent again, since it may have arrived.
2. Claim: pending → sending with a conditional UPDATE, committed before anything goes out.
   A single delivery is claimed only if exactly one row changed (otherwise another worker got
   there first, or it was sent already); a batch is claimed under `SKIP LOCKED`.
3. Send each claimed delivery through its channel.
4. Record: sent; or, after an error that a later try may cure, pending again with the next
   attempt after a doubling wait, until the attempts run out; or failed, keeping the error.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kernel.channels import ChannelError, one_line
from kernel.models import Delivery

logger = logging.getLogger(__name__)

# A send takes seconds (the Slack timeout is 10 s); one still "sending" after this was cut off.
STUCK_AFTER = timedelta(minutes=15)
INTERRUPTED = (
    "Interrupted while sending; not sent again by itself, since it may have arrived. "
    "Use “Send again” in the admin if it did not."
)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message, for channels that can carry files (e-mail)."""

    filename: str
    content: bytes
    # The media type with any parameters, e.g. "text/calendar; method=REQUEST".
    mimetype: str


@dataclass(frozen=True)
class Message:
    """What one delivery says, in the forms its channel may want."""

    subject: str
    text: str
    html: str = ""
    slack: dict | None = None
    # Plain data for machine readers (outbound webhooks, ticket sync).
    data: dict = field(default_factory=dict)
    # Files for the channels that carry them; the others send the text alone.
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        # A subject is one line whatever was typed into the title it is made from.
        object.__setattr__(self, "subject", one_line(self.subject))


class Channel(Protocol):
    name: str
    label: str

    def send(self, delivery: Delivery, message: Message) -> None:
        """Deliver, or raise ChannelError saying whether a later try can help."""

    def describe(self, address: dict) -> str:
        """Where the address points, in words, with no secret in it."""


@dataclass(frozen=True)
class Topic:
    name: str
    label: str
    compose: Callable[[Delivery, Any], Message]
    # Loads what a batch needs at once; its result is handed to compose for each delivery.
    prepare: Callable[[list[Delivery]], Any] = lambda deliveries: None


_channels: dict[str, Channel] = {}
_topics: dict[str, Topic] = {}


def register_channel(channel: Channel) -> None:
    """Make a channel available by its name; registering the same name again replaces it."""
    _channels[channel.name] = channel


def register_topic(topic: Topic) -> None:
    _topics[topic.name] = topic


def channels() -> dict[str, Channel]:
    return dict(_channels)


def describe_address(delivery: Delivery) -> str:
    channel = _channels.get(delivery.channel)
    return channel.describe(delivery.address) if channel else delivery.channel


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    retry_seconds: float

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            attempts=settings.HINDSIGHT_DELIVERY_ATTEMPTS,
            retry_seconds=settings.HINDSIGHT_DELIVERY_RETRY_SECONDS,
        )

    def delay(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed try: the base, doubling each time."""
        return timedelta(seconds=self.retry_seconds * 2 ** max(attempts - 1, 0))


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    reaped: int = 0


def queue(deliveries: Iterable[Delivery]) -> list[Delivery]:
    """Insert deliveries and hand each to a worker once the transaction commits.

    The periodic sweep (`deliver_due`) sends anything a worker never picked up.
    """
    from kernel.tasks import deliver

    rows = Delivery.objects.bulk_create(list(deliveries))
    for row in rows:
        deliver.delay_on_commit(row.pk)
    return rows


def reap(now: datetime | None = None) -> int:
    """Mark deliveries cut off mid-send as failed, so none stays "sending" forever."""
    now = now or timezone.now()
    reaped = Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - STUCK_AFTER
    ).update(status=Delivery.Status.FAILED, error=INTERRUPTED)
    if reaped:
        logger.warning("%s deliveries were cut off mid-send and marked failed", reaped)
    return reaped


def deliver_one(delivery_id: int, *, policy: RetryPolicy | None = None) -> Delivery | None:
    """Send one delivery if it is due and nobody else has it; None when there was nothing to do."""
    policy = policy or RetryPolicy.from_settings()
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now
    ).update(status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if claimed != 1:
        return None
    delivery = Delivery.objects.get(pk=delivery_id)
    _send([delivery], policy=policy, report=DeliveryReport())
    return delivery


def deliver_due(
    *,
    policy: RetryPolicy | None = None,
    batch_size: int = 500,
    wait_for_retries: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    report: DeliveryReport | None = None,
) -> DeliveryReport:
    """Send every due delivery, batch by batch; with `wait_for_retries`, also those retried.

    Waiting is bounded: each delivery is tried at most `policy.attempts` times.
    """
    policy = policy or RetryPolicy.from_settings()
    report = report or DeliveryReport()
    report.reaped += reap()
    while True:
        claimed = _claim(timezone.now(), batch_size)
        if claimed:
            _send(claimed, policy=policy, report=report)
            continue
        if not wait_for_retries:
            return report
        upcoming = (
            Delivery.objects.filter(status=Delivery.Status.PENDING)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if upcoming is None:
            return report
        sleep(max((upcoming - timezone.now()).total_seconds(), 0))


def send_again(deliveries) -> int:
    """Put failed deliveries back in the queue, for a person who knows they did not arrive."""
    ids = list(deliveries.filter(status=Delivery.Status.FAILED).values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0, error=""
    )
    from kernel.tasks import deliver

    for pk in ids:
        deliver.delay_on_commit(pk)
    return len(ids)


def _claim(now: datetime, size: int) -> list[Delivery]:
    """Take up to `size` due deliveries for this process; another process skips them."""
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(Delivery.objects.filter(pk__in=ids).order_by("pk"))


def _prepared(deliveries: list[Delivery]) -> dict[str, Any]:
    """Each topic's batch context; a topic whose loading fails gets none (its rows fail)."""
    by_topic: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        by_topic[delivery.topic].append(delivery)
    contexts = {}
    for name, rows in by_topic.items():
        topic = _topics.get(name)
        if topic is None:
            continue
        try:
            contexts[name] = topic.prepare(rows)
        except Exception:
            logger.exception("Deliveries of topic %s could not be prepared", name)
    return contexts


def _send_one(delivery: Delivery, contexts: dict[str, Any]) -> None:
    topic, channel = _topics.get(delivery.topic), _channels.get(delivery.channel)
    if topic is None or channel is None:
        unknown = "topic" if topic is None else "channel"
        name = delivery.topic if topic is None else delivery.channel
        raise ChannelError(f"No {unknown} named “{name}” is registered.", retryable=False)
    if delivery.topic not in contexts:
        raise RuntimeError(f"the {delivery.topic} batch could not be prepared")
    channel.send(delivery, topic.compose(delivery, contexts[delivery.topic]))


def _send(deliveries: list[Delivery], *, policy: RetryPolicy, report: DeliveryReport) -> None:
    contexts = _prepared(deliveries)
    sent, not_sent = [], []
    for delivery in deliveries:
        try:
            _send_one(delivery, contexts)
        except ChannelError as error:
            delivery.error = str(error)
            if error.retryable and delivery.attempts < policy.attempts:
                delivery.status = Delivery.Status.PENDING
                delivery.next_attempt_at = timezone.now() + policy.delay(delivery.attempts)
                report.retrying += 1
            else:
                delivery.status = Delivery.Status.FAILED
                report.failed += 1
            logger.warning("Delivery %s by %s failed: %s", delivery.pk, delivery.channel, error)
            not_sent.append(delivery)
        except Exception:
            # A fault of ours in one message must not hold back everybody else's.
            logger.exception("Delivery %s could not be prepared", delivery.pk)
            delivery.status = Delivery.Status.FAILED
            delivery.error = "Could not be prepared; see the log."
            report.failed += 1
            not_sent.append(delivery)
        else:
            sent.append(delivery)
    report.sent += len(sent)
    now = timezone.now()
    # One statement for everything sent; failures are few and each keeps its own error.
    Delivery.objects.filter(pk__in=[d.pk for d in sent]).update(
        status=Delivery.Status.SENT, sent_at=now, error=""
    )
    for delivery in sent:
        delivery.status, delivery.sent_at, delivery.error = Delivery.Status.SENT, now, ""
    for delivery in not_sent:
        delivery.save(update_fields=["status", "next_attempt_at", "error"])
