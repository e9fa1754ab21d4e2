"""Reminders when an open incident has gone quiet: no status update for its severity's interval.

`send_quiet_reminders()` is the whole run; the `send_quiet_reminders` command, the Celery beat
task and the tests call it. Every few minutes:

1. Find the open incidents whose reminders are not snoozed.
2. For each, the quiet stretch starts at the last status update (or the start of the
   incident). After n whole intervals of the severity's length, interval n is due.
3. Insert the reminder row for (incident, quiet since, interval n). The unique constraint lets
   exactly one run insert it: a second run, a second worker at the same moment, or a run after
   a crash finds the row there and sends nothing.
4. Only the run that inserted the row queues its deliveries, in the same transaction: an
   e-mail to the commander and one to the communications lead, and a post to the team's
   Slack channel. The delivery engine sends them, retries what failed for now, and keeps
   each one's outcome (the admin's Deliveries, and the reminder's own page there).

A status update starts a new quiet stretch, and a resolved incident is no longer open, so
either stops the reminders, even one queued and waiting to be retried. The page shows the
same state from `quiet_state()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, QuietReminder
from incidents.slack import slack_address
from kernel import delivery as engine
from kernel.channels import ChannelError, slack_escape
from kernel.models import Delivery
from kernel.text import display_name

TOPIC = "quiet-reminder"


@dataclass(frozen=True)
class QuietState:
    since: datetime
    interval: timedelta
    now: datetime

    @property
    def quiet_for(self) -> timedelta:
        return self.now - self.since

    @property
    def intervals(self) -> int:
        """How many whole intervals have passed without an update (0 while still on time)."""
        return int(self.quiet_for // self.interval)

    @property
    def due_at(self) -> datetime:
        """When the next update is due: one interval after the last (in the past once overdue)."""
        return self.since + self.interval

    @property
    def overdue(self) -> bool:
        return self.intervals >= 1


def quiet_state(incident: Incident, *, last_update_at: datetime | None, now=None) -> QuietState:
    now = now or timezone.now()
    since = max(last_update_at, incident.started_at) if last_update_at else incident.started_at
    interval = timedelta(minutes=incident.severity.status_update_every_minutes)
    return QuietState(since=since, interval=interval, now=now)


def _recipients(incident: Incident) -> list:
    people = [incident.owner, incident.communications_lead]
    seen, unique = set(), []
    for person in people:
        if person is not None and person.is_active and person.pk not in seen:
            seen.add(person.pk)
            unique.append(person)
    return unique


def _deliveries(reminder: QuietReminder, incident: Incident, people: list) -> list[Delivery]:
    """An e-mail to each person reminded, and one post to the team's Slack channel."""
    rows = [
        Delivery(
            topic=TOPIC, subject_id=reminder.pk, channel="email", address={"to": [person.email]}
        )
        for person in people
        if person.email
    ]
    if incident.team is not None and incident.team.slack_webhook_url:
        rows.append(
            Delivery(
                topic=TOPIC,
                subject_id=reminder.pk,
                channel="slack",
                address=slack_address(incident.team),
            )
        )
    return rows


def _claim(
    incident: Incident, state: QuietState, now: datetime
) -> tuple[QuietReminder, list[Delivery]] | None:
    """Insert this interval's reminder row and queue its deliveries, in one transaction.

    None when another run got there first: its row is there, and so are its deliveries.
    """
    people = _recipients(incident)
    reminder = QuietReminder(
        incident=incident,
        quiet_since=state.since,
        interval_number=state.intervals,
        interval_minutes=int(state.interval.total_seconds() // 60),
        created_at=now,
        recipients="\n".join(person.email for person in people if person.email),
    )
    try:
        with transaction.atomic():
            reminder.save()
            return reminder, engine.queue(_deliveries(reminder, incident, people))
    except IntegrityError:
        return None


def send_quiet_reminders(*, now: datetime | None = None) -> list[QuietReminder]:
    """Remind about every open incident gone quiet for another interval; the reminders made.

    The deliveries this run queued are sent before it returns (a worker handed the same
    delivery finds it claimed); those that fail for now are retried by the delivery engine.
    """
    now = now or timezone.now()
    incidents = list(
        Incident.objects.filter(status__in=Incident.ACTIVE_STATUSES)
        .select_related("severity", "owner", "communications_lead", "team")
        .annotate(last_update_at=Max("status_updates__posted_at"))
    )
    reminders, queued = [], []
    for incident in incidents:
        if incident.quiet_snoozed(now):
            continue
        state = quiet_state(incident, last_update_at=incident.last_update_at, now=now)
        if not state.overdue:
            continue
        claimed = _claim(incident, state, now)
        if claimed is None:
            continue
        reminder, deliveries = claimed
        reminders.append(reminder)
        queued += deliveries
    for delivery in queued:
        engine.deliver_one(delivery.pk)
    return reminders


def _incident_url(incident: Incident) -> str:
    return settings.HINDSIGHT_BASE_URL.rstrip("/") + reverse("incident-active", args=[incident.ref])


def quiet_reminder_message(reminder: QuietReminder, incident: Incident) -> tuple[str, str]:
    minutes = reminder.quiet_minutes
    subject = f"{incident.ref} has had no status update for {minutes} minutes"
    text = (
        f"{incident.ref} {incident.title} ({incident.severity.name}, "
        f"{incident.get_status_display().lower()}) has had no status update for {minutes} "
        f"minutes; {incident.severity.name} expects one every {reminder.interval_minutes}.\n\n"
        f"Post what you know, what you are doing and when the next update comes:\n"
        f"{_incident_url(incident)}\n\n"
        "If there is nothing to say for a while, snooze these reminders there, with a reason."
    )
    return subject, text


# The quiet-reminder topic: what a reminder says on each channel ------------------------------


def _prepare(deliveries: list[Delivery]) -> dict[int, QuietReminder]:
    """The reminders of a batch, each with its incident as it is now, in one query."""
    return (
        QuietReminder.objects.select_related(
            "incident__severity", "incident__owner", "incident__communications_lead"
        )
        .annotate(last_update_at=Max("incident__status_updates__posted_at"))
        .in_bulk({delivery.subject_id for delivery in deliveries})
    )


def _compose(delivery: Delivery, reminders: dict[int, QuietReminder]) -> engine.Message:
    """The reminder, unless the incident has spoken or ended since (a retry can come late)."""
    reminder = reminders.get(delivery.subject_id)
    if reminder is None:
        raise ChannelError("the reminder no longer exists", retryable=False)
    incident = reminder.incident
    if not incident.is_active:
        raise ChannelError("not sent: the incident was resolved meanwhile", retryable=False)
    if reminder.last_update_at and reminder.last_update_at > reminder.quiet_since:
        raise ChannelError("not sent: a status update was posted meanwhile", retryable=False)
    subject, text = quiet_reminder_message(reminder, incident)
    names = ", ".join(display_name(person) for person in _recipients(incident))
    slack_text = (
        f":hourglass: {slack_escape(subject)}"
        + (f" ({slack_escape(names)})" if names else "")
        + f"\n<{_incident_url(incident)}|Post a status update>"
    )
    return engine.Message(
        subject=subject,
        text=text,
        slack={"text": slack_text},
        data={"ref": incident.ref, "quiet_minutes": reminder.quiet_minutes},
    )


QUIET_REMINDER_TOPIC = engine.Topic(
    name=TOPIC, label="Quiet-incident reminder", compose=_compose, prepare=_prepare
)
