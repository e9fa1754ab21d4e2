"""Incidents and the things around them: severities, teams, services, the timeline."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kernel.channels import outbound_url_refusal, slack_webhook_refusal

REF_PREFIX = "INC-"
REF_PATTERN = re.compile(rf"^{REF_PREFIX}(\d{{1,9}})$", re.IGNORECASE)


def incident_number(ref: str) -> int | None:
    """The number in a reference like INC-42, or None when it is not one."""
    match = REF_PATTERN.match(ref)
    return int(match.group(1)) if match else None


def validate_slack_webhook_url(value: str) -> None:
    refusal = slack_webhook_refusal(value)
    if refusal:
        raise ValidationError(refusal, code="unsafe_webhook")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )
    slack_webhook_url = models.URLField(
        blank=True,
        validators=[validate_slack_webhook_url],
        help_text="A Slack incoming-webhook URL for this team's notifications "
        "(https://hooks.slack.com/services/...).",
    )
    nag_every_days = models.PositiveSmallIntegerField(
        "remind every (days)",
        default=7,
        validators=[MinValueValidator(1)],
        help_text="An overdue action item reminds its owner the day it becomes overdue, "
        "then again after this many days until it is closed or snoozed.",
    )
    nag_escalate_after = models.PositiveSmallIntegerField(
        "copy the lead after (reminders)",
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Once an item has been reminded about this many times, the next reminders "
        "also go to the team lead (or the incident owner when the team has no lead).",
    )
    history = HistoricalRecords(m2m_fields=[members], excluded_fields=["slack_webhook_url"])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="services")
    description = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Severity(models.Model):
    """SEV1 (worst) to SEV4; the meaning is what responders read when they pick one."""

    level = models.PositiveSmallIntegerField(unique=True, help_text="1 is the most severe.")
    meaning = models.CharField(max_length=200)
    full_postmortem = models.BooleanField(
        default=True, help_text="Use the full postmortem template for incidents of this severity."
    )
    status_update_every_minutes = models.PositiveSmallIntegerField(
        "status update every (minutes)",
        default=60,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="While an incident of this severity is open, its commander and communications "
        "lead are reminded when no status update was posted for this long, and again after "
        "each further interval.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["level"]
        verbose_name_plural = "severities"
        constraints = [
            models.CheckConstraint(
                condition=Q(level__gte=1, level__lte=9), name="severity_level_range"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"SEV{self.level}"


class Incident(models.Model):
    class Status(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    ACTIVE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
    # What each status tells responders and readers, shown beside it.
    STATUS_MEANINGS = {
        Status.INVESTIGATING: "Something is wrong and we are finding out what.",
        Status.IDENTIFIED: "We know the cause and are working on a fix.",
        Status.MONITORING: "A fix is in place; we are watching that it holds.",
        Status.RESOLVED: "Back to normal. The postmortem is next.",
        Status.CLOSED: "Resolved, and the follow-up is done.",
    }

    number = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200)
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=20, choices=Status, default=Status.INVESTIGATING)
    started_at = models.DateTimeField(default=timezone.now)
    detected_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_incidents",
        verbose_name="incident owner",
    )
    communications_lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Posts the status updates. The incident owner does, while nobody is named.",
    )
    scribe = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Keeps the timeline while the others work.",
    )
    responders = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="responded_incidents"
    )
    services = models.ManyToManyField(Service, blank=True, related_name="incidents")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    customer_facing = models.BooleanField(default=False)
    near_miss = models.BooleanField(
        "near miss",
        default=False,
        help_text="Caught before anyone outside was affected: no customer impact, the same "
        "write-up, counted apart from incidents.",
    )
    private = models.BooleanField(
        default=False,
        help_text="Seen only by the incident owner, the responders, the owning team, the "
        "people added as viewers below, and admins.",
    )
    viewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="viewable_incidents",
        help_text="People outside the team who may read a private incident.",
    )
    quiet_snoozed_until = models.DateTimeField(
        "quiet reminders snoozed until", null=True, blank=True
    )
    quiet_snooze_reason = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[responders, services, viewers])

    class Meta:
        ordering = ["-started_at", "-number"]
        indexes = [
            models.Index(fields=["status", "-started_at"]),
            # The private incidents alone, with what the policy asks of them: filtering a
            # large table by who may read it (policy.visible_rows) reads this, not every row.
            models.Index(
                fields=["id", "owner", "team", "private"],
                condition=Q(private=True),
                name="incident_private_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(detected_at__isnull=True) | Q(detected_at__gte=F("started_at")),
                name="incident_detected_after_start",
            ),
            models.CheckConstraint(
                condition=Q(mitigated_at__isnull=True) | Q(mitigated_at__gte=F("started_at")),
                name="incident_mitigated_after_start",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("started_at")),
                name="incident_resolved_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(near_miss=True, customer_facing=True),
                name="incident_near_miss_not_customer_facing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("document", args=[self.ref])

    @property
    def ref(self) -> str:
        return f"{REF_PREFIX}{self.number}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def status_meaning(self) -> str:
        return self.STATUS_MEANINGS.get(self.status, "")

    @property
    def commander(self):
        """The incident commander is the incident owner: one person, one name for it."""
        return self.owner

    def quiet_snoozed(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.quiet_snoozed_until is not None and self.quiet_snoozed_until > now

    @property
    def time_to_detect(self) -> timedelta | None:
        return self.detected_at - self.started_at if self.detected_at else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.started_at if self.mitigated_at else None

    @property
    def duration(self) -> timedelta | None:
        return self.resolved_at - self.started_at if self.resolved_at else None

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        """From detection to the first responder taking it on; unknown without both."""
        if self.acknowledged_at and self.detected_at:
            return self.acknowledged_at - self.detected_at
        return None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.duration

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for field in (
            "detected_at",
            "acknowledged_at",
            "escalated_at",
            "mitigated_at",
            "resolved_at",
        ):
            value = getattr(self, field)
            if value and self.started_at and value < self.started_at:
                label = self._meta.get_field(field).verbose_name
                errors[field] = f"The {label} time cannot be before the incident started."
        if self.near_miss and self.customer_facing:
            errors["near_miss"] = (
                "A near miss reached no customer: untick Customer-facing, or record it as an "
                "incident."
            )
        if self.status in (self.Status.RESOLVED, self.Status.CLOSED) and not self.resolved_at:
            errors["resolved_at"] = "A resolved incident needs the time it was resolved."
        if errors:
            raise ValidationError(errors)


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        FAILURE = "failure", "Failure"
        DETECTION = "detection", "Detection"
        ESCALATION = "escalation", "Escalation"
        RESPONSE = "response", "Response"
        MITIGATION = "mitigation", "Mitigation"
        RESOLUTION = "resolution", "Resolution"
        COMMUNICATION = "communication", "Communication"
        NOTE = "note", "Note"

    class Source(models.TextChoices):
        MANUAL = "manual", "Added by hand"
        CHAT = "chat", "Imported from chat"
        API = "api", "Added through the API"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.NOTE)
    text = models.TextField(max_length=5000)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=10, choices=Source, default=Source.MANUAL)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()}"


class Organisation(models.Model):
    """The settings that hold for everyone: one row, made on first use."""

    members_edit_any_postmortem = models.BooleanField(
        "members may edit any postmortem",
        default=True,
        help_text="Anyone signed in (except read-only accounts) may edit the document of a "
        "non-private incident, the blameless way. Off: only its owner, responders, team and "
        "admins.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "organisation settings"
        verbose_name_plural = "organisation settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="organisation_singleton")]

    def __str__(self) -> str:
        return "Organisation settings"

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> Organisation:
        return cls.objects.get_or_create(pk=1)[0]


class AuditEntry(models.Model):
    """Something done to who may see or do what: written once, never edited."""

    class Action(models.TextChoices):
        ROLE_CHANGED = "role", "Role changed"
        MEMBERSHIP_CHANGED = "membership", "Team membership changed"
        TEAM_SETTINGS_CHANGED = "team-settings", "Team settings changed"
        ACCESS_CHANGED = "access", "Who is on the incident changed"
        PRIVATE_CHANGED = "private", "Private flag changed"
        PUBLISHED = "published", "Postmortem published"
        SHARE_LINK_MADE = "link-made", "Share link made"
        SHARE_LINK_REVOKED = "link-revoked", "Share link revoked"
        ADMIN_VIEWED_PRIVATE = "admin-view", "Admin viewed a private incident"
        SSO_SIGN_IN = "sso", "Signed in through single sign-on"
        SETTINGS_CHANGED = "settings", "Organisation settings changed"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action)
    target = models.CharField(max_length=200, help_text="What it was done to, in words.")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["action", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_action_display()}: {self.target}"


class StatusUpdate(models.Model):
    """What the response team tells others, in three parts, while the incident is open.

    Each is also a communication entry in the timeline. Stakeholder updates are what "live
    updates" share links show, and go to the summary e-mail list and team Slack.
    """

    class Audience(models.TextChoices):
        INTERNAL = "internal", "Internal (the response team and colleagues)"
        STAKEHOLDERS = "stakeholders", "Stakeholders (live-updates links, e-mail and Slack)"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="status_updates")
    posted_at = models.DateTimeField(default=timezone.now)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    audience = models.CharField(max_length=20, choices=Audience, default=Audience.INTERNAL)
    known = models.TextField("what we know", max_length=2000)
    doing = models.TextField("what we are doing", max_length=2000)
    next_update_at = models.DateTimeField("next update by", null=True, blank=True)
    entry = models.OneToOneField(
        TimelineEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="status_update",
        help_text="The communication entry this update made in the timeline.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-posted_at", "-id"]
        indexes = [models.Index(fields=["incident", "-posted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(next_update_at__isnull=True) | Q(next_update_at__gt=F("posted_at")),
                name="status_update_next_after_posted",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.ref} update at {self.posted_at:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.next_update_at and self.posted_at and self.next_update_at <= self.posted_at:
            raise ValidationError({"next_update_at": "The next update must come after this one."})

    @property
    def for_stakeholders(self) -> bool:
        return self.audience == self.Audience.STAKEHOLDERS


class QuietReminder(models.Model):
    """One reminder that an open incident has gone without a status update.

    The quiet stretch starts at the last update (or the start of the incident); interval n ends
    n intervals later. The unique constraint is what makes a reminder go out once per interval,
    whichever run, worker or retry gets there first.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="quiet_reminders")
    quiet_since = models.DateTimeField()
    interval_number = models.PositiveIntegerField()
    interval_minutes = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # How each message went is in its deliveries (topic "quiet-reminder").
    recipients = models.TextField(blank=True, help_text="Who it went to, one a line.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "quiet_since", "interval_number"],
                name="quiet_reminder_once_per_interval",
            )
        ]

    def __str__(self) -> str:
        return f"{self.incident.ref} quiet for {self.quiet_minutes} min"

    @property
    def quiet_minutes(self) -> int:
        return self.interval_number * self.interval_minutes


def validate_outbound_webhook_url(value: str) -> None:
    refusal = outbound_url_refusal(
        value,
        allow_local_test_server=settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER,
    )
    if refusal:
        raise ValidationError(refusal, code="unsafe_webhook")


class TeamWebhook(models.Model):
    """A team's own endpoint told about its incidents and action items, signed with `secret`.

    The secret signs every message (see `incidents.webhooks.signature_header`); it is shown
    once, when the webhook is made, and never again.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField("URL", max_length=500, validators=[validate_outbound_webhook_url])
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="The event names this webhook is sent.")
    secret = models.CharField(max_length=100, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team", "id"]

    def __str__(self) -> str:
        return f"{self.team} → {self.host}"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "?"

    def wants(self, event: str) -> bool:
        return self.active and event in self.events

    def clean(self) -> None:
        from incidents.webhooks import event_names

        unknown = set(self.events or []) - set(event_names())
        if not self.events:
            raise ValidationError({"events": "Choose at least one event to send."})
        if unknown:
            raise ValidationError({"events": f"Unknown events: {', '.join(sorted(unknown))}."})


class WebhookEvent(models.Model):
    """Something that happened, frozen as the JSON body every subscribed webhook is sent.

    Written in the transaction of the change it tells about, so an event exists exactly when
    its change was committed; each webhook it goes to is a Delivery of topic "webhook_event".
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhook_events")
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.event} for {self.team}"
