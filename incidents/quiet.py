"""Reminders when an open incident has gone quiet: no status update for its severity's interval.

`send_quiet_reminders()` is the whole run; the `send_quiet_reminders` command, the Celery beat
task and the tests call it. Every few minutes:

1. Find the open incidents whose reminders are not snoozed.
2. For each, the quiet stretch starts at the last status update (or the start of the
   incident). After n whole intervals of the severity's length, interval n is due.
3. Insert the reminder row for (incident, quiet since, interval n). The unique constraint lets
   exactly one run insert it: a second run, a second worker at the same moment, or a run after
   a crash finds the row there and sends nothing.
4. Only the run that inserted the row sends it: to the commander and the communications lead
   by e-mail, and to the team's Slack channel. What went wrong sending is kept on the row.

A status update starts a new quiet stretch, and a resolved incident is no longer open, so
either stops the reminders. The page shows the same state from `quiet_state()`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, QuietReminder
from kernel.channels import ChannelError, post_slack, send_email, slack_escape

logger = logging.getLogger(__name__)


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
    def next_due_at(self) -> datetime:
        return self.since + self.interval * (self.intervals + 1)

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


def _claim(incident: Incident, state: QuietState, now: datetime) -> QuietReminder | None:
    """Insert this interval's reminder row; None when another run got there first."""
    reminder = QuietReminder(
        incident=incident,
        quiet_since=state.since,
        interval_number=state.intervals,
        interval_minutes=int(state.interval.total_seconds() // 60),
        created_at=now,
        recipients="\n".join(person.email for person in _recipients(incident) if person.email),
    )
    try:
        with transaction.atomic():
            reminder.save()
    except IntegrityError:
        return None
    return reminder


def send_quiet_reminders(*, now: datetime | None = None) -> list[QuietReminder]:
    """Remind about every open incident gone quiet for another interval; the reminders sent."""
    now = now or timezone.now()
    incidents = list(
        Incident.objects.filter(status__in=Incident.ACTIVE_STATUSES)
        .select_related("severity", "owner", "communications_lead", "team")
        .annotate(last_update_at=Max("status_updates__posted_at"))
    )
    sent = []
    for incident in incidents:
        if incident.quiet_snoozed(now):
            continue
        state = quiet_state(incident, last_update_at=incident.last_update_at, now=now)
        if not state.overdue:
            continue
        reminder = _claim(incident, state, now)
        if reminder is None:
            continue
        errors = quiet_reminder_deliver(reminder, incident=incident)
        if errors:
            reminder.error = "\n".join(errors)
            reminder.save(update_fields=["error"])
        sent.append(reminder)
    return sent


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


def quiet_reminder_deliver(reminder: QuietReminder, *, incident: Incident) -> list[str]:
    """Send one quiet reminder by e-mail and team Slack; the errors, in words.

    One small function per message, on the shared channels, so that it can move onto the
    common delivery mechanism (with its retries) without changing what is sent.
    """
    subject, text = quiet_reminder_message(reminder, incident)
    errors = []
    to = [line for line in reminder.recipients.splitlines() if line]
    if to:
        try:
            send_email(to=to, subject=subject, text=text)
        except ChannelError as error:
            errors.append(str(error))
    webhook = incident.team.slack_webhook_url if incident.team else ""
    if webhook:
        names = ", ".join(
            person.get_full_name() or person.get_username() for person in _recipients(incident)
        )
        payload = {
            "text": f":hourglass: {slack_escape(subject)}"
            + (f" ({slack_escape(names)})" if names else "")
            + f"\n<{_incident_url(incident)}|Post a status update>"
        }
        try:
            post_slack(webhook_url=webhook, payload=payload)
        except ChannelError as error:
            errors.append(str(error))
    for error in errors:
        logger.warning("quiet reminder for %s: %s", incident.ref, error)
    return errors
