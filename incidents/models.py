"""Incidents and the things around them: severities, teams, services, the timeline."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from kernel.channels import slack_webhook_refusal

REF_PREFIX = "INC-"


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

    number = models.PositiveIntegerField(unique=True, editable=False)
    title = models.CharField(max_length=200)
    severity = models.ForeignKey(Severity, on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=20, choices=Status, default=Status.INVESTIGATING)
    started_at = models.DateTimeField(default=timezone.now)
    detected_at = models.DateTimeField(null=True, blank=True)
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
        default=False, help_text="Visible only to the team and responders (enforced later)."
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[responders, services])

    class Meta:
        ordering = ["-started_at", "-number"]
        indexes = [models.Index(fields=["status", "-started_at"])]
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
    def time_to_detect(self) -> timedelta | None:
        return self.detected_at - self.started_at if self.detected_at else None

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.started_at if self.mitigated_at else None

    @property
    def duration(self) -> timedelta | None:
        return self.resolved_at - self.started_at if self.resolved_at else None

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for field in ("detected_at", "mitigated_at", "resolved_at"):
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
