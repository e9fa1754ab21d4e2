"""Reminders ("nags") about overdue action items and waiting postmortems, once a day.

`send_nags()` is the whole daily run: the `send_nags` command, the Celery task and the tests all
call it. It has two steps, each safe to run twice or in two processes at once:

1. Decide. People with something overdue are taken in batches, in order of their user id. For
   each, the items due a reminder today are worked out (the first day an item is overdue, then
   every N days), and that day's Nag row is inserted with its lines and deliveries in one
   transaction. A Nag is unique per person and day: a second run, a second worker at the same
   moment, or a run restarted after a crash inserts nothing for people already reminded today.
2. Deliver. Each digest goes out as Delivery rows of the topic "reminder", one per channel,
   through the delivery engine (kernel/delivery.py): claimed, sent, recorded, a channel error
   that may pass tried again after a growing wait while the other deliveries carry on.

Rules: done and won't-do items never remind; a snoozed item waits for its new due date; an
item without an (active) owner reminds the incident owner; once an item has been reminded
about K times, its team lead (or else the incident owner) is copied. Postmortems remind the
incident owner too: a SEV1–SEV2 draft past its due date, and an incident resolved five days
ago with no review meeting held or coming (a meeting scheduled counts until its time has
passed without it being held). A done item whose re-check day has come asks its owner
"is it still working?" on the same cadence. A person who paused reminders hears nothing until the
pause ends. Queries are per batch of people, never per item or per person.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import batched, groupby
from operator import itemgetter
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, Count, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from actions.models import ActionItem, Nag, NagLine, NagPreference, ReviewMeeting
from actions.nag_messages import digest_email, digest_entries, digest_slack, plural
from actions.review import RECHECK_DUE
from actions.tickets import outcome_reminders
from actions.webhook_events import items_overdue_raise
from incidents.models import REF_PREFIX, Team
from incidents.policy import sees_incident, sees_team_record
from incidents.slack import slack_address
from kernel import delivery as engine
from kernel.models import Delivery
from postmortems.models import Postmortem
from premortems.models import Premortem

logger = logging.getLogger(__name__)
User = get_user_model()

# A postmortem reminds when its incident was resolved this many days ago and no review meeting
# is recorded; drafts past their due date remind for these severities (1 is the worst).
MEETING_DUE_DAYS = 5
DRAFT_REMINDER_MAX_LEVEL = 2
TOPIC = "reminder"


@dataclass(frozen=True)
class NagConfig:
    every_days: int
    escalate_after: int
    attempts: int
    retry_seconds: float
    time_zone: str
    batch_size: int = 500

    @classmethod
    def from_settings(cls, **overrides) -> NagConfig:
        values = {
            "every_days": settings.HINDSIGHT_NAG_EVERY_DAYS,
            "escalate_after": settings.HINDSIGHT_NAG_ESCALATE_AFTER,
            "attempts": settings.HINDSIGHT_DELIVERY_ATTEMPTS,
            "retry_seconds": settings.HINDSIGHT_DELIVERY_RETRY_SECONDS,
            "time_zone": settings.HINDSIGHT_NAG_TIME_ZONE,
        }
        return cls(**{**values, **overrides})

    def today(self, now: datetime) -> date:
        """The reminders' calendar day at `now`: what "overdue" and "once a day" are read in."""
        return now.astimezone(ZoneInfo(self.time_zone)).date()

    @property
    def retry_policy(self) -> engine.RetryPolicy:
        return engine.RetryPolicy(attempts=self.attempts, retry_seconds=self.retry_seconds)


@dataclass
class Line:
    reason: str
    days_late: int
    label: str
    action_item_id: int | None = None
    postmortem_id: int | None = None
    team_id: int | None = None
    escalated: bool = False
    escalate_to_id: int | None = None


@dataclass
class Digest:
    recipient_id: int
    lines: list[Line]


@dataclass
class NagReport:
    reminded: int = 0
    lines: int = 0
    already_reminded: int = 0
    unreachable: int = 0
    sent: int = 0
    failed: int = 0
    planned: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.reminded} people reminded about {self.lines} things; "
            f"{self.sent} messages sent, {self.failed} failed; "
            f"{self.already_reminded} already reminded today; {self.unreachable} unreachable."
        )


def send_nags(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    config: NagConfig | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> NagReport:
    """The daily run: decide and record today's reminders, then deliver what is pending."""
    config = config or NagConfig.from_settings()
    now = now or timezone.now()
    today = config.today(now)
    report = NagReport()
    run = uuid.uuid4()
    slack_teams = set(Team.objects.exclude(slack_webhook_url="").values_list("pk", flat=True))
    for batch in batched(_digests(today=today, now=now, config=config), config.batch_size):
        plans = _plan(batch, slack_teams=slack_teams, report=report)
        if dry_run:
            report.planned.extend(plan.describe() for plan in plans)
        else:
            _record(plans, today=today, run=run, report=report)
    if not dry_run:
        # Items whose ticket was closed wait for their outcome: their owners are asked again.
        outcome_reminders(today=today, every_days=config.every_days)
        deliver_pending(config=config, report=report, sleep=sleep)
    return report


# 1. Deciding -------------------------------------------------------------------------------


def item_is_due(*, due_date: date, last_nagged: date | None, every: int, today: date) -> bool:
    """Whether an overdue item reminds today.

    The first reminder comes the first day it is overdue. An item snoozed since its last
    reminder has a due date after that reminder, so it starts over once the new date passes.
    """
    if last_nagged is None or last_nagged <= due_date:
        return True
    return (today - last_nagged).days >= every


def _reachable(person_field: str, today: date) -> Q:
    """Rows whose `person_field` names someone who may be reminded: active and not paused."""
    paused = NagPreference.objects.filter(paused_until__gte=today).values("user_id")
    inactive = User.objects.filter(is_active=False).values("pk")
    return (
        Q(**{f"{person_field}__isnull": False})
        & ~Q(**{f"{person_field}__in": paused})
        & ~Q(**{f"{person_field}__in": inactive})
    )


# What an item follows up answers for it when its owner cannot: the incident owner, or the
# premortem's facilitator; and its team is the incident's or the premortem's.
SUBJECT_OWNER = Coalesce("incident__owner_id", "premortem__facilitator_id")
SUBJECT_TEAM = Coalesce("incident__team_id", "premortem__team_id")


def _sees_subject(person_field: str) -> Q:
    """Whether `person_field` may see what the item follows up (incident or premortem)."""
    return (Q(incident__isnull=False) & sees_incident(person_field)) | (
        Q(premortem__isnull=False)
        & sees_team_record(person_field, "premortem", Premortem.participants)
    )


def _label(number: int | None, premortem_title: str | None, title: str) -> str:
    if number is None:
        return f"Premortem “{premortem_title}”: {title}"
    return f"{REF_PREFIX}{number} {title}"


def _overdue_item_rows(*, today: date, config: NagConfig):
    """Every open overdue item with whom it reminds and its reminder history, by recipient."""
    earlier = NagLine.objects.filter(action_item=OuterRef("pk"))
    # The item's own team decides, else its incident's team, else the settings.
    return (
        ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES, due_date__lt=today)
        .annotate(
            # Someone who left can no longer act on it: the incident owner is asked instead.
            recipient=Case(When(owner__is_active=True, then="owner_id"), default=SUBJECT_OWNER),
            nag_team=Coalesce("team_id", SUBJECT_TEAM),
            every=Coalesce(
                "team__nag_every_days",
                "incident__team__nag_every_days",
                "premortem__team__nag_every_days",
                Value(config.every_days),
            ),
            escalate_after=Coalesce(
                "team__nag_escalate_after",
                "incident__team__nag_escalate_after",
                "premortem__team__nag_escalate_after",
                Value(config.escalate_after),
            ),
            escalate_to=Case(
                When(team__isnull=False, then=Coalesce("team__lead_id", SUBJECT_OWNER)),
                default=Coalesce(
                    "incident__team__lead_id", "premortem__team__lead_id", SUBJECT_OWNER
                ),
            ),
            last_nagged=Subquery(earlier.order_by("-period").values("period")[:1]),
            times_nagged=Coalesce(
                Subquery(earlier.values("action_item").annotate(n=Count("pk")).values("n")), 0
            ),
        )
        .filter(_reachable("recipient", today), _sees_subject("recipient"))
        .order_by("recipient", "due_date", "pk")
        .values_list(
            "recipient",
            "pk",
            "due_date",
            "title",
            "incident__number",
            "premortem__title",
            "nag_team",
            "every",
            "escalate_after",
            "escalate_to",
            "last_nagged",
            "times_nagged",
        )
    )


def _item_line(row, today: date) -> Line | None:
    (
        _,
        pk,
        due_date,
        title,
        number,
        premortem_title,
        team_id,
        every,
        escalate_after,
        escalate_to,
        last_nagged,
        times_nagged,
    ) = row
    if not item_is_due(due_date=due_date, last_nagged=last_nagged, every=every, today=today):
        return None
    return Line(
        reason=NagLine.Reason.OVERDUE,
        days_late=(today - due_date).days,
        label=_label(number, premortem_title, title),
        action_item_id=pk,
        team_id=team_id,
        escalated=times_nagged >= escalate_after,
        escalate_to_id=escalate_to,
    )


def _postmortem_reminders(*, today: date, now: datetime, config: NagConfig) -> dict[int, list]:
    """Postmortems waiting on their incident owner (or the team lead), by recipient."""
    reminders: dict[int, list[Line]] = {}
    waiting = {
        NagLine.Reason.DRAFT_OVERDUE: Postmortem.objects.filter(
            status=Postmortem.Status.DRAFT,
            due_at__lt=now,
            incident__severity__level__lte=DRAFT_REMINDER_MAX_LEVEL,
        ),
        NagLine.Reason.NO_MEETING: Postmortem.objects.filter(
            incident__resolved_at__lte=now - timedelta(days=MEETING_DUE_DAYS)
        ).exclude(Exists(ReviewMeeting.objects.filter(incident=OuterRef("incident")).settled(now))),
    }
    zone = ZoneInfo(config.time_zone)
    for reason, queryset in waiting.items():
        earlier = NagLine.objects.filter(postmortem=OuterRef("pk"), reason=reason)
        rows = (
            queryset.annotate(
                recipient=Case(
                    When(incident__owner__is_active=True, then="incident__owner_id"),
                    default="incident__team__lead_id",
                ),
                every=Coalesce("incident__team__nag_every_days", Value(config.every_days)),
                last_nagged=Subquery(earlier.order_by("-period").values("period")[:1]),
            )
            .filter(_reachable("recipient", today))
            .values_list(
                "recipient",
                "pk",
                "incident__number",
                "incident__title",
                "incident__team_id",
                "every",
                "last_nagged",
                "due_at",
                "incident__resolved_at",
            )
        )
        for recipient, pk, number, title, team_id, every, last_nagged, due_at, resolved in rows:
            if last_nagged is not None and (today - last_nagged).days < every:
                continue
            since = due_at if reason == NagLine.Reason.DRAFT_OVERDUE else resolved
            reminders.setdefault(recipient, []).append(
                Line(
                    reason=reason,
                    days_late=max((today - since.astimezone(zone).date()).days, 0),
                    label=f"{REF_PREFIX}{number} {title}",
                    postmortem_id=pk,
                    team_id=team_id,
                )
            )
    return reminders


def _recheck_reminders(*, today: date, config: NagConfig) -> dict[int, list[Line]]:
    """Done items whose re-check day has come, by recipient: "is it still working?".

    The owner is asked (else the incident owner), on the day and then every N days until the
    re-check is recorded or the item is reopened.
    """
    reminders: dict[int, list[Line]] = {}
    earlier = NagLine.objects.filter(
        action_item=OuterRef("pk"),
        reason=NagLine.Reason.RECHECK,
        period__gte=OuterRef("recheck_on"),
    )
    rows = (
        ActionItem.objects.filter(RECHECK_DUE, recheck_on__lte=today)
        .annotate(
            recipient=Case(When(owner__is_active=True, then="owner_id"), default=SUBJECT_OWNER),
            nag_team=Coalesce("team_id", SUBJECT_TEAM),
            every=Coalesce(
                "team__nag_every_days",
                "incident__team__nag_every_days",
                "premortem__team__nag_every_days",
                Value(config.every_days),
            ),
            last_nagged=Subquery(earlier.order_by("-period").values("period")[:1]),
        )
        .filter(_reachable("recipient", today))
        .values_list(
            "recipient", "pk", "title", "incident__number", "premortem__title", "nag_team",
            "every", "last_nagged", "recheck_on",
        )
    )  # fmt: skip
    for recipient, pk, title, number, pm_title, team_id, every, last_nagged, recheck_on in rows:
        if last_nagged is not None and (today - last_nagged).days < every:
            continue
        reminders.setdefault(recipient, []).append(
            Line(
                reason=NagLine.Reason.RECHECK,
                days_late=(today - recheck_on).days,
                label=_label(number, pm_title, title),
                action_item_id=pk,
                team_id=team_id,
            )
        )
    return reminders


def _digests(*, today: date, now: datetime, config: NagConfig) -> Iterator[Digest]:
    """Each person's reminders for today, in order of user id, read with one pass per kind."""
    # Postmortems waiting and re-checks due: read whole (few), merged into the item pass.
    waiting_lines = _postmortem_reminders(today=today, now=now, config=config)
    for recipient, lines in _recheck_reminders(today=today, config=config).items():
        waiting_lines.setdefault(recipient, []).extend(lines)
    waiting = sorted(waiting_lines)
    rows = _overdue_item_rows(today=today, config=config).iterator(chunk_size=2000)
    for recipient, items in groupby(rows, key=itemgetter(0)):
        while waiting and waiting[0] < recipient:
            only = waiting.pop(0)
            yield Digest(only, waiting_lines[only])
        if waiting and waiting[0] == recipient:
            waiting.pop(0)
        lines = [line for row in items if (line := _item_line(row, today))]
        lines += waiting_lines.get(recipient, [])
        if lines:
            yield Digest(recipient, lines)
    for only in waiting:
        yield Digest(only, waiting_lines[only])


@dataclass
class Plan:
    """A digest with the people and channels it goes to."""

    digest: Digest
    recipient: object
    deliveries: list[Delivery]
    copied: list[object]
    team_names: dict[int, str]

    def describe(self) -> str:
        person = self.recipient.get_full_name() or self.recipient.get_username()
        ways = ", ".join(
            f"Slack ({self.team_names.get(d.address['team'], '?')})"
            if d.channel == "slack"
            else "e-mail"
            for d in self.deliveries
        )
        lines = [f"{person} <{self.recipient.email}> by {ways}:"]
        for line in self.digest.lines:
            what = NagLine.Reason(line.reason).label.lower()
            lines.append(f"  - {line.label} ({what}, {plural(line.days_late, 'day')})")
        if self.copied:
            names = ", ".join(u.get_full_name() or u.get_username() for u in self.copied)
            lines.append(f"  copying {names}")
        return "\n".join(lines)


def _plan(batch: tuple[Digest, ...], *, slack_teams: set[int], report: NagReport) -> list[Plan]:
    """Who each digest goes to and by which channels, from the people's preferences."""
    copied_ids = {
        line.escalate_to_id for digest in batch for line in digest.lines if line.escalated
    }
    people = User.objects.filter(pk__in={d.recipient_id for d in batch} | copied_ids)
    people = {person.pk: person for person in people}
    preferences = NagPreference.objects.filter(user_id__in=[d.recipient_id for d in batch])
    preferences = {preference.user_id: preference for preference in preferences}
    team_ids = {line.team_id for digest in batch for line in digest.lines} & slack_teams
    teams = {team.pk: team for team in Team.objects.filter(pk__in=team_ids)}
    team_names = {pk: team.name for pk, team in teams.items()}
    plans = []
    for digest in batch:
        recipient = people[digest.recipient_id]
        preference = preferences.get(recipient.pk) or NagPreference(user=recipient)
        copied = sorted(
            {
                people[line.escalate_to_id]
                for line in digest.lines
                if line.escalated
                and line.escalate_to_id in people
                and line.escalate_to_id != recipient.pk
                and people[line.escalate_to_id].is_active
                and people[line.escalate_to_id].email
            },
            key=lambda person: person.pk,
        )
        deliveries = []
        if preference.by_slack:
            for team_id in sorted({line.team_id for line in digest.lines} & slack_teams):
                deliveries.append(
                    Delivery(topic=TOPIC, channel="slack", address=slack_address(teams[team_id]))
                )
        # E-mail when chosen, and as the fallback when no team of theirs has a Slack channel.
        if recipient.email and (preference.by_email or not deliveries):
            deliveries.insert(
                0,
                Delivery(
                    topic=TOPIC,
                    channel="email",
                    address={"to": [recipient.email], "cc": [person.email for person in copied]},
                ),
            )
        if not deliveries:
            report.unreachable += 1
            logger.warning("Cannot remind user %s: no e-mail address and no Slack", recipient.pk)
            continue
        plans.append(Plan(digest, recipient, deliveries, copied, team_names))
    return plans


def _record(plans: list[Plan], *, today: date, run: uuid.UUID, report: NagReport) -> None:
    """Insert the batch's Nag rows; only the rows this run inserted get lines and deliveries.

    Done in one transaction, so a reminder is never recorded without what it says and how it
    goes out. An insert that meets another run's row for the same person and day does nothing.
    """
    if not plans:
        return
    with transaction.atomic():
        Nag.objects.bulk_create(
            [Nag(recipient_id=plan.recipient.pk, period=today, run=run) for plan in plans],
            ignore_conflicts=True,
        )
        ours = dict(
            Nag.objects.filter(
                run=run, recipient_id__in=[p.recipient.pk for p in plans]
            ).values_list("recipient_id", "pk")
        )
        lines, deliveries = [], []
        for plan in plans:
            nag_id = ours.get(plan.recipient.pk)
            if nag_id is None:
                report.already_reminded += 1
                continue
            report.reminded += 1
            report.lines += len(plan.digest.lines)
            for line in plan.digest.lines:
                lines.append(
                    NagLine(
                        nag_id=nag_id,
                        reason=line.reason,
                        action_item_id=line.action_item_id,
                        postmortem_id=line.postmortem_id,
                        period=today,
                        days_late=line.days_late,
                        escalated=line.escalated,
                    )
                )
            for delivery in plan.deliveries:
                delivery.subject_id = nag_id
                deliveries.append(delivery)
        NagLine.objects.bulk_create(lines)
        Delivery.objects.bulk_create(deliveries)
        items_overdue_raise(
            {line.action_item_id for line in lines if line.action_item_id}, today=today
        )


# 2. Delivering -----------------------------------------------------------------------------


def deliver_pending(
    *,
    config: NagConfig | None = None,
    report: NagReport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> NagReport:
    """Send every pending delivery, waiting for the retries of those that failed for now.

    Waits are bounded: each delivery is tried at most `config.attempts` times.
    """
    config = config or NagConfig.from_settings()
    report = report or NagReport()
    sent = engine.deliver_due(
        policy=config.retry_policy,
        batch_size=config.batch_size,
        wait_for_retries=True,
        sleep=sleep,
    )
    report.sent += sent.sent
    report.failed += sent.failed
    return report


# The reminder topic: what a digest says on each channel ------------------------------------


@dataclass(frozen=True)
class _Batch:
    nags: dict[int, Nag]
    entries: dict[int, list[dict]]
    teams: dict[int, Team]


def _prepare(deliveries: list[Delivery]) -> _Batch:
    """Everything a batch of digests says, in three queries whatever its size."""
    nag_ids = {delivery.subject_id for delivery in deliveries}
    team_ids = {d.address.get("team") for d in deliveries if d.channel == "slack"}
    return _Batch(
        nags=Nag.objects.select_related("recipient").in_bulk(nag_ids),
        entries=digest_entries(list(nag_ids)),
        teams=Team.objects.in_bulk(team_ids - {None}),
    )


def _compose(delivery: Delivery, batch: _Batch) -> engine.Message:
    recipient = batch.nags[delivery.subject_id].recipient
    entries = batch.entries[delivery.subject_id]
    if delivery.channel == "slack":
        team = batch.teams.get(delivery.address.get("team"))
        if team is None:
            raise engine.ChannelError("the team no longer exists", retryable=False)
        payload = digest_slack(recipient=recipient, entries=entries, team=team)
        return engine.Message(subject="", text=payload["text"], slack=payload)
    message = digest_email(recipient=recipient, entries=entries, cc=delivery.address.get("cc", []))
    return engine.Message(**message, data={"recipient": recipient.pk, "entries": entries})


REMINDER_TOPIC = engine.Topic(
    name=TOPIC, label="Reminder digest", compose=_compose, prepare=_prepare
)
