"""The doors into Hindsight from other tools: API tokens and alert intake.

An API token acts as its user with its scope, never more. Only a SHA-256 hash of a token is
stored; the token itself is shown once, when it is made.

Alerts arrive from a source (Alertmanager, Grafana, PagerDuty or the generic shape), each with a
secret of its own. An alert's dedup key maps to at most one open incident: the partial unique
constraint on `AlertLink` is what holds that when two deliveries race.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from incidents.models import Incident, Service, Severity, Team


class ApiToken(models.Model):
    class Scope(models.TextChoices):
        READ = "read", "Read only"
        WRITE = "write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What uses it, such as “deploy script”.")
    scope = models.CharField(max_length=10, choices=Scope, default=Scope.READ)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters of the token, so its owner can tell tokens apart in the list.
    prefix = models.CharField(max_length=12, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.expires_at is not None and self.expires_at <= now

    def is_usable(self, now=None) -> bool:
        return self.revoked_at is None and not self.is_expired(now) and self.user.is_active

    @property
    def can_write(self) -> bool:
        return self.scope == self.Scope.WRITE

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired() else "active"


class AlertSource(models.Model):
    """One alerting tool that may open incidents, with the secret it proves itself with."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager (webhook v4)"
        GRAFANA = "grafana", "Grafana alerting (webhook)"
        PAGERDUTY = "pagerduty", "PagerDuty (v3 webhooks)"
        GENERIC = "generic", "Generic JSON"

    kind = models.CharField(max_length=20, choices=Kind, unique=True)
    secret = models.CharField(
        max_length=200,
        help_text="Alertmanager and the generic shape send it as a bearer token or the "
        "X-Hindsight-Secret header; Grafana and PagerDuty sign each delivery with it (HMAC).",
    )
    enabled = models.BooleanField(default=True)
    mitigate_on_resolve = models.BooleanField(
        "mark mitigated when resolved",
        default=False,
        help_text="When the alert resolves, record the incident as mitigated at that moment.",
    )
    default_severity = models.ForeignKey(
        Severity,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Used when no mapping names a severity. Empty: the least severe level.",
    )
    default_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_as = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The account history names for what this source writes.",
    )

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class AlertMapping(models.Model):
    """A label value that says which severity, service or team an alert belongs to."""

    source = models.ForeignKey(
        AlertSource,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="mappings",
        help_text="Empty: applies to every source.",
    )
    label = models.CharField(max_length=100, help_text="Such as severity, service or team.")
    value = models.CharField(max_length=200)
    severity = models.ForeignKey(
        Severity, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower wins when two match.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__isnull=False)
                | Q(service__isnull=False)
                | Q(team__isnull=False),
                name="alert_mapping_maps_something",
            )
        ]

    def __str__(self) -> str:
        return f"{self.label}={self.value}"


class AlertLink(models.Model):
    """An alert's dedup key tied to the incident it opened, while that incident is open."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="links")
    dedup_key = models.CharField(max_length=500)
    incident = models.ForeignKey(
        Incident, null=True, on_delete=models.CASCADE, related_name="alert_links"
    )
    open = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two deliveries of one alert racing: the second insert waits, then fails, and
            # joins the incident the first one opened.
            models.UniqueConstraint(
                fields=["source", "dedup_key"],
                condition=Q(open=True),
                name="alert_link_one_open_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source.kind}:{self.dedup_key}"


class AlertDelivery(models.Model):
    """One delivery received, so that a retried delivery changes nothing the second time."""

    source = models.ForeignKey(AlertSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=200)
    link = models.ForeignKey(AlertLink, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=20)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="alert_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.source.kind} delivery {self.delivery_id}"


class ChatImport(models.Model):
    """A chat message already imported into an incident's timeline, so it is never added twice."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="chat_imports")
    # Slack's message ts, or a hash of time, author and text for pasted transcripts.
    key = models.CharField(max_length=200)
    entry = models.ForeignKey(
        "incidents.TimelineEntry", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="chat_import_once")]

    def __str__(self) -> str:
        return f"{self.key} into {self.incident}"
