"""Action items: the follow-up work a postmortem files, each with an owner and a due date.

Beside them live the rows that keep them moving: the reminders ("nags") sent about overdue
items, each person's reminder preferences, the weekly reviews a team holds, and the review
meetings held for an incident.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.models import Incident, Team
from postmortems.models import Cause, Postmortem
from premortems.models import Premortem, ReasonGroup

# Where a ticket's key sits in the URL of the trackers people link most.
TICKET_KEY_PATTERNS = (
    re.compile(r"/browse/(?P<key>[A-Z][A-Z0-9_]+-\d+)"),  # Jira
    re.compile(r"/issue/(?P<key>[A-Z][A-Z0-9]+-\d+)"),  # Linear
    re.compile(r"/selectedIssue=(?P<key>[A-Z][A-Z0-9_]+-\d+)"),  # Jira boards
)
GITHUB_STYLE = re.compile(
    r"^/(?:[^/]+/)+?(?P<repo>[^/]+?)/(?:-/)?(?:issues|pull|merge_requests)/(?P<n>\d+)"
)


def ticket_key(url: str) -> str:
    """The short name people say for a ticket: ABC-123, repo#42, or else the host."""
    if not url:
        return ""
    parts = urlsplit(url)
    target = parts.path + ("/" + parts.query if parts.query else "")
    for pattern in TICKET_KEY_PATTERNS:
        match = pattern.search(target)
        if match:
            return match.group("key")
    match = GITHUB_STYLE.match(parts.path)
    if match:
        return f"{match.group('repo')}#{match.group('n')}"
    return parts.hostname or url


class ActionItem(models.Model):
    class Kind(models.TextChoices):
        CORRECTIVE = "corrective", "Corrective"
        PREVENTIVE = "preventive", "Preventive"
        DETECTION = "detection", "Detection"
        MITIGATION = "mitigation", "Mitigation"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        BLOCKED = "blocked", "Blocked"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Priority(models.IntegerChoices):
        P1 = 1, "P1 · urgent"
        P2 = 2, "P2 · important"
        P3 = 3, "P3 · when there is time"

    class Level(models.TextChoices):
        LOW = "low", "Low"
        HIGH = "high", "High"

    class WorthIt(models.TextChoices):
        YES = "yes", "Yes"
        PARTLY = "partly", "Partly"
        NO = "no", "No"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.BLOCKED)
    CLOSED_STATUSES = (Status.DONE, Status.WONT_DO)

    # What the item follows up: an incident's postmortem, or a premortem of a planned change
    # (exactly one of the two; see Meta.constraints).
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="action_items"
    )
    premortem = models.ForeignKey(
        Premortem, null=True, blank=True, on_delete=models.CASCADE, related_name="action_items"
    )
    premortem_group = models.ForeignKey(
        ReasonGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
        verbose_name="prevents",
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    team = models.ForeignKey(
        Team,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
        verbose_name="owning team",
    )
    due_date = models.DateField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority, default=Priority.P2)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.CORRECTIVE)
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    cause = models.ForeignKey(
        Cause,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
        verbose_name="addresses cause",
    )
    ticket_url = models.URLField(
        "ticket link",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Where the work is tracked: a Jira, GitHub, GitLab or Linear link.",
    )
    wont_do_reason = models.TextField(
        "why it won't be done",
        max_length=2000,
        blank=True,
        help_text="Needed when the status is “Won't do”, so the decision can be revisited.",
    )
    outcome = models.TextField(
        "what changed",
        max_length=5000,
        blank=True,
        help_text="Needed when the status is “Done”: what is different now.",
    )
    worth_it = models.CharField(
        "was it worth it?",
        max_length=10,
        choices=WorthIt,
        blank=True,
        help_text="Needed when the status is “Done”.",
    )
    impact = models.CharField(
        max_length=4,
        choices=Level,
        blank=True,
        help_text="How much it lowers the chance or the harm of a repeat.",
    )
    effort = models.CharField(
        max_length=4, choices=Level, blank=True, help_text="How much work it takes."
    )
    evidence_url = models.URLField(
        "evidence",
        max_length=500,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text="Needed when the status is “Done”: a link to the change — the pull "
        "request, runbook, alert or dashboard.",
    )
    recheck_on = models.DateField(
        "re-check on",
        null=True,
        blank=True,
        help_text="Optional: the day it comes back to the weekly review, to ask whether it "
        "is still working.",
    )
    rechecked_on = models.DateField("last re-checked on", null=True, blank=True, editable=False)
    recheck_note = models.CharField(
        "what the re-check found", max_length=500, blank=True, editable=False
    )
    snooze_reason = models.CharField(max_length=300, blank=True, editable=False)
    snooze_count = models.PositiveSmallIntegerField(default=0, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            # The weekly review's "stale" and "recently closed" groups.
            models.Index(fields=["status", "updated_at"], name="action_status_updated_idx"),
            models.Index(fields=["closed_at"], name="action_closed_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(incident__isnull=False, premortem__isnull=True)
                | Q(incident__isnull=True, premortem__isnull=False),
                name="action_item_follows_incident_or_premortem",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        # closed_at follows the status, so "closed in the last 7 days" needs no history scan.
        if self.is_open:
            self.closed_at = None
        elif self.closed_at is None:
            self.closed_at = timezone.now()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("action-item", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def subject(self) -> Incident | Premortem:
        """What the item follows up: its incident, or the premortem that filed it."""
        return self.incident if self.incident_id else self.premortem

    @property
    def subject_ref(self) -> str:
        """The short name of its subject: INC-42, or "Premortem" for a planned change."""
        return self.incident.ref if self.incident_id else "Premortem"

    @property
    def subject_url(self) -> str:
        if self.incident_id:
            return f"{self.incident.get_absolute_url()}#action-{self.pk}"
        return f"{self.premortem.get_absolute_url()}#item-{self.pk}"

    @property
    def subject_owner(self):
        """Who answers for the subject: the incident owner, or the premortem's facilitator."""
        return self.incident.owner if self.incident_id else self.premortem.facilitator

    def is_overdue(self, today) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today

    def days_overdue(self, today: date) -> int:
        return (today - self.due_date).days if self.is_overdue(today) else 0

    @property
    def is_quick_win(self) -> bool:
        """Low effort for high impact: what a team should do first."""
        return self.impact == self.Level.HIGH and self.effort == self.Level.LOW

    @property
    def quick_win_rank(self) -> int:
        """0 for low effort and high impact, then high impact, then low effort, then the rest."""
        return (self.impact != self.Level.HIGH) * 2 + (self.effort != self.Level.LOW)

    def recheck_due(self, today: date) -> bool:
        """Done, with a re-check date that has come and no re-check made since."""
        return (
            self.status == self.Status.DONE
            and self.recheck_on is not None
            and self.recheck_on <= today
            and (self.rechecked_on is None or self.rechecked_on < self.recheck_on)
        )

    @property
    def short_priority(self) -> str:
        return f"P{self.priority}"

    @property
    def ticket_key(self) -> str:
        return ticket_key(self.ticket_url)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.cause_id and self.cause.postmortem.incident_id != self.incident_id:
            errors["cause"] = "Pick a cause from this incident's postmortem."
        if self.status == self.Status.WONT_DO and not self.wont_do_reason.strip():
            errors["wont_do_reason"] = "Say why it won't be done, so the decision can be revisited."
        if self.status == self.Status.DONE:
            if not self.outcome.strip():
                errors["outcome"] = "Say what changed: closing the loop is the point."
            if not self.worth_it:
                errors["worth_it"] = "Say whether it was worth it: yes, partly or no."
            if not self.evidence_url.strip():
                errors["evidence_url"] = (
                    "Link the evidence: the pull request, runbook, alert or dashboard that "
                    "shows the change."
                )
        if errors:
            raise ValidationError(errors)


class NagPreference(models.Model):
    """How one person wants to be reminded; absent means e-mail and Slack, never paused."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nag_preference"
    )
    by_email = models.BooleanField("remind me by e-mail", default=True)
    by_slack = models.BooleanField(
        "remind me in my team's Slack channel",
        default=True,
        help_text="Only for teams that have a Slack channel set up. Without one, reminders "
        "come by e-mail.",
    )
    paused_until = models.DateField(
        "pause reminders until",
        null=True,
        blank=True,
        help_text="For a holiday or leave: no reminders up to and including this day.",
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Reminder preferences of {self.user}"

    def is_paused(self, today: date) -> bool:
        return self.paused_until is not None and today <= self.paused_until

    def clean(self) -> None:
        if not (self.by_email or self.by_slack):
            raise ValidationError(
                "Keep at least one way to reach you. To stop reminders for a while, pause them."
            )


class Nag(models.Model):
    """One reminder digest to one person on one day of the nag calendar.

    The unique constraint is what makes a reminder go out once: two runs on the same day, two
    workers at once, or a run restarted after a crash all try to insert this row, and only one
    insert can win. The lines and deliveries are written in the same transaction as the row.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nags"
    )
    period = models.DateField(help_text="The day of the run, in the reminders' time zone.")
    run = models.UUIDField(help_text="The run that decided it; tells a run its own rows.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period", "id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "period"], name="nag_once_a_day")
        ]
        indexes = [models.Index(fields=["run"], name="nag_run_idx")]

    def __str__(self) -> str:
        return f"Reminder to {self.recipient} on {self.period}"


class NagLine(models.Model):
    """One thing a digest reminds about: an overdue action item or a postmortem waiting."""

    class Reason(models.TextChoices):
        OVERDUE = "overdue", "Action item overdue"
        DRAFT_OVERDUE = "draft_overdue", "Postmortem draft past its due date"
        NO_MEETING = "no_meeting", "No review meeting recorded"
        RECHECK = "recheck", "Re-check due: is it still working?"

    nag = models.ForeignKey(Nag, on_delete=models.CASCADE, related_name="lines")
    reason = models.CharField(max_length=20, choices=Reason)
    action_item = models.ForeignKey(
        ActionItem, null=True, blank=True, on_delete=models.CASCADE, related_name="nag_lines"
    )
    postmortem = models.ForeignKey(
        Postmortem, null=True, blank=True, on_delete=models.CASCADE, related_name="nag_lines"
    )
    # Copied from the nag, so the cadence lookups per item need no join.
    period = models.DateField()
    days_late = models.PositiveIntegerField(default=0)
    escalated = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action_item__isnull=False, postmortem__isnull=True)
                | Q(action_item__isnull=True, postmortem__isnull=False),
                name="nag_line_one_subject",
            )
        ]
        indexes = [
            models.Index(fields=["action_item", "period"], name="nag_line_item_idx"),
            models.Index(fields=["postmortem", "reason", "period"], name="nag_line_pm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.period})"


class WeeklyReview(models.Model):
    """A team saying it walked its open action items this week, with what it noted."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="weekly_reviews")
    week = models.DateField(help_text="The Monday of the week reviewed.")
    notes = models.TextField(max_length=5000, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(default=timezone.now)
    # What the list looked like when it was reviewed, for comparing weeks.
    open_count = models.PositiveIntegerField(default=0)
    overdue_count = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-week"]
        constraints = [
            models.UniqueConstraint(fields=["team", "week"], name="weekly_review_once_a_week")
        ]

    def __str__(self) -> str:
        return f"{self.team} review of the week of {self.week}"


class ReviewMeetingQuerySet(models.QuerySet):
    def settled(self, now) -> ReviewMeetingQuerySet:
        """Meetings that answer "is a review meeting recorded?": held, or still to come.

        A meeting scheduled for a time that has passed without it being held answers no.
        """
        return self.filter(Q(held_on__isnull=False) | Q(scheduled_at__gte=now))


class ReviewMeeting(models.Model):
    """The postmortem review meeting of an incident: scheduled, run part by part, held.

    A meeting is scheduled ahead (a time, attendees, an invitation) or recorded after the fact
    (only the day it was held). While it runs, the agenda's timer lives here: the part under
    way, when it was last started (empty while paused) and the seconds each part has taken so
    far. Every screen computes the running clock from these, so all show the same time.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="review_meetings")
    scheduled_at = models.DateTimeField("starts at", null=True, blank=True)
    location = models.CharField(
        "where",
        max_length=300,
        blank=True,
        help_text="A room, or the link of the video call.",
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="MeetingAttendee",
        related_name="review_meetings",
        blank=True,
    )
    held_on = models.DateField("held on", null=True, blank=True)
    notes = models.TextField(
        max_length=10_000,
        blank=True,
        help_text="Who came, what was agreed, dissent worth recording.",
    )
    # The agenda's timer: see `actions.meetings`.
    part = models.PositiveSmallIntegerField(default=0)
    part_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    part_seconds = models.JSONField(default=list, blank=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The invitation's SEQUENCE: raised each time the time or place changes, so calendars
    # replace the event they hold instead of adding a second one.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()
    objects = ReviewMeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-held_on", "-scheduled_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(held_on__isnull=False) | Q(scheduled_at__isnull=False),
                name="review_meeting_held_or_scheduled",
                violation_error_message="Say when the meeting is, or the day it was held.",
            )
        ]

    def __str__(self) -> str:
        when = self.held_on or (self.scheduled_at and timezone.localtime(self.scheduled_at).date())
        return f"Review meeting of {self.incident.ref} on {when}"

    def get_absolute_url(self) -> str:
        return reverse("meeting", args=[self.incident.ref, self.pk])

    @property
    def is_held(self) -> bool:
        return self.held_on is not None

    @property
    def is_running(self) -> bool:
        return self.part_started_at is not None

    @property
    def is_over(self) -> bool:
        """Ended with its last part, or recorded after the fact."""
        return self.ended_at is not None or (self.held_on is not None and self.started_at is None)

    def clean(self) -> None:
        if self.held_on and self.held_on > timezone.localdate():
            raise ValidationError({"held_on": "Record a meeting once it has been held."})


class MeetingAttendee(models.Model):
    """Someone invited to a review meeting, and whether they came."""

    class Presence(models.TextChoices):
        INVITED = "invited", "Not marked yet"
        PRESENT = "present", "Present"
        ABSENT = "absent", "Absent"

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    presence = models.CharField(max_length=10, choices=Presence, default=Presence.INVITED)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="meeting_attendee_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.meeting}"


class MeetingDecision(models.Model):
    """Something the review meeting agreed on."""

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField("decision", max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class MeetingDissent(models.Model):
    """A view someone at the meeting does not share with the rest, in their words.

    It is theirs: written by someone else, it stays pending until its author confirms that it
    says what they think; whoever changes the text afterwards (other than its author) puts it
    back to pending.
    """

    meeting = models.ForeignKey(ReviewMeeting, on_delete=models.CASCADE, related_name="dissents")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="whose view it is",
    )
    text = models.TextField("the view", max_length=3000)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    consented_at = models.DateTimeField(null=True, blank=True, editable=False)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Dissent of {self.author}: {self.text[:40]}"

    @property
    def consented(self) -> bool:
        return self.consented_at is not None


class TrackerConnection(models.Model):
    """A team's ticket tracker: where its action items' tickets are filed and heard back from.

    The token is read from the environment variable named in `token_env`, or else stored
    encrypted (`kernel.crypto`); the webhook secret is what the tracker's webhook proves
    itself with, shown to the lead once.
    """

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="tracker")
    tracker = models.CharField(max_length=20)
    base_url = models.URLField(
        "address", max_length=300, help_text="The tracker's API address; see the README."
    )
    project = models.CharField(max_length=200)
    username = models.CharField(
        max_length=200, blank=True, help_text="Jira Cloud only: the account e-mail the token is of."
    )
    token_env = models.CharField(
        "token from environment variable",
        max_length=100,
        blank=True,
        help_text="The name of an environment variable holding the token (kept out of the "
        "database), e.g. HINDSIGHT_GITHUB_TOKEN.",
    )
    token_encrypted = models.TextField(blank=True, editable=False)
    labels = models.CharField(
        max_length=200, blank=True, default="postmortem", help_text="Comma-separated."
    )
    webhook_secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.team}: {self.tracker} {self.project}"

    @property
    def label_list(self) -> list[str]:
        return [label.strip() for label in self.labels.split(",") if label.strip()]


class Ticket(models.Model):
    """The tracker ticket of an action item, and what its tracker last said of it.

    A ticket closed in the tracker does not close the item: closing the loop needs its outcome
    and whether it was worth it, which only its owner can say. Until then the item shows
    "ticket closed, waiting for the outcome" (`closed_at` set while the item is open).
    """

    action_item = models.OneToOneField(ActionItem, on_delete=models.CASCADE, related_name="ticket")
    connection = models.ForeignKey(
        TrackerConnection, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    key = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The day the owner was last asked for the outcome of its closed ticket; claimed with a
    # conditional UPDATE so that a day's reminder goes out once.
    asked_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["connection", "key"], name="ticket_by_key_idx")]

    def __str__(self) -> str:
        return self.key

    @property
    def waiting_for_outcome(self) -> bool:
        return self.closed_at is not None and self.action_item.is_open
