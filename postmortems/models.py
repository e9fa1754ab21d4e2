"""The postmortem document: sections, causes with their chains of whys."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.models import Incident


class Postmortem(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"

    class Template(models.TextChoices):
        FULL = "full", "Full (SEV1–SEV2)"
        QUICK = "quick", "Quick (SEV3–SEV4)"

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="postmortem")
    template = models.CharField(max_length=10, choices=Template)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFT)
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when the incident is resolved."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return f"Postmortem for {self.incident.ref}"

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.DRAFT and self.due_at is not None and self.due_at < now


class Section(models.Model):
    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="sections")
    key = models.SlugField(max_length=50)
    title = models.CharField(max_length=100)
    hint = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField()
    body = models.TextField(blank=True, max_length=100_000)
    internal = models.BooleanField(
        default=False, help_text="Left out of what stakeholders outside the team read."
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "key"], name="section_key_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Cause(models.Model):
    class Kind(models.TextChoices):
        PRIMARY = "primary", "Primary"
        CONTRIBUTING = "contributing", "Contributing"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="causes")
    statement = models.TextField("problem statement", max_length=2000)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.PRIMARY)
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.statement[:80]


class Why(models.Model):
    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="whys")
    position = models.PositiveIntegerField(default=0)
    question = models.CharField(max_length=500)
    answer = models.TextField(max_length=5000, blank=True)
    evidence = models.TextField(max_length=5000, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "whys"

    def __str__(self) -> str:
        return self.question[:80]
