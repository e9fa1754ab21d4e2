"""What people decided about incidents that look like earlier ones."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from incidents.models import Incident


class Recurrence(models.Model):
    """A person's answer to "seen before?": this incident is (or is not) the earlier one again.

    Candidates are computed when the document is read; only a decision is a row, so reading a
    page never writes and a dismissed suggestion stays dismissed.
    """

    class Decision(models.TextChoices):
        CONFIRMED = "confirmed", "Confirmed: the same failure again"
        DISMISSED = "dismissed", "Dismissed: not related"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="recurrences")
    earlier = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="recurred_as")
    decision = models.CharField(max_length=10, choices=Decision)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "earlier"], name="recurrence_pair_unique"),
            models.CheckConstraint(condition=~Q(incident=F("earlier")), name="recurrence_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.incident.ref} {self.decision} as a recurrence of {self.earlier.ref}"


class QuarterlyDigest(models.Model):
    """A quarter's review queued for one team's lead; the unique pair makes the run send once.

    The e-mail itself is a `kernel.Delivery` of topic "quarterly-review" naming this row."""

    team = models.ForeignKey("incidents.Team", on_delete=models.CASCADE, related_name="+")
    # Whose eyes the figures are computed through: the lead when it was queued.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    period_start = models.DateField()
    recipient = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "team"]
        constraints = [
            models.UniqueConstraint(fields=["team", "period_start"], name="digest_once_a_quarter")
        ]

    def __str__(self) -> str:
        return f"{self.team} review from {self.period_start}"
