"""Action items: the follow-up work a postmortem files, each with an owner and a due date."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from simple_history.models import HistoricalRecords

from incidents.models import Incident
from postmortems.models import Cause


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

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS, Status.BLOCKED)

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="action_items")
    title = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="action_items",
    )
    due_date = models.DateField(null=True, blank=True)
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
        indexes = [models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def is_overdue(self, today) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today

    def clean(self) -> None:
        if self.cause_id and self.cause.postmortem.incident_id != self.incident_id:
            raise ValidationError({"cause": "Pick a cause from this incident's postmortem."})
