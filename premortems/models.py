"""Premortems: before a risky change, the team imagines it has failed and writes down why.

A premortem belongs to a team, may be private like an incident, and moves through phases:
people write failure reasons alone for a time-box (each sees only their own), the facilitator
reveals them all at once, duplicates are grouped, everyone votes, and the groups with most votes
become preventive action items (see `actions.preventive`).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from incidents.models import Team

MAX_REASON_LENGTH = 2000
MAX_VOTES_PER_PERSON = 10
MAX_WRITING_MINUTES = 120


class Premortem(models.Model):
    class Phase(models.TextChoices):
        WRITING = "writing", "Writing"
        REVEALED = "revealed", "Revealed"
        GROUPING = "grouping", "Grouping"
        VOTING = "voting", "Voting"
        DONE = "done", "Done"

    # The order the phases follow; a premortem only ever moves forward.
    PHASE_ORDER = (Phase.WRITING, Phase.REVEALED, Phase.GROUPING, Phase.VOTING, Phase.DONE)

    title = models.CharField("planned change", max_length=200)
    description = models.TextField(
        "what is planned",
        max_length=10_000,
        blank=True,
        help_text="What will change, when, and how it is meant to go.",
    )
    planned_for = models.DateField("planned date")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="premortems")
    private = models.BooleanField(
        default=False,
        help_text="Seen only by the team, the facilitator and the participants.",
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="facilitated_premortems"
    )
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="premortems", blank=True
    )
    phase = models.CharField(max_length=10, choices=Phase, default=Phase.WRITING)
    writing_minutes = models.PositiveSmallIntegerField(
        "time to write (minutes)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WRITING_MINUTES)],
    )
    writing_ends_at = models.DateTimeField("writing ends at")
    revealed_at = models.DateTimeField(null=True, blank=True)
    votes_per_person = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(MAX_VOTES_PER_PERSON)]
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(m2m_fields=[participants])

    class Meta:
        ordering = ["-planned_for", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(votes_per_person__gte=1, votes_per_person__lte=10),
                name="premortem_votes_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("premortem", args=[self.pk])

    @property
    def revealed(self) -> bool:
        """Past the writing phase: everyone who may see the premortem reads every reason."""
        return self.phase != self.Phase.WRITING

    def writing_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.phase == self.Phase.WRITING and now < self.writing_ends_at

    def seconds_left(self, now=None) -> int:
        now = now or timezone.now()
        return max(0, int((self.writing_ends_at - now).total_seconds()))

    def next_phase(self) -> str | None:
        index = self.PHASE_ORDER.index(self.phase)
        return self.PHASE_ORDER[index + 1] if index + 1 < len(self.PHASE_ORDER) else None

    def start_writing(self, now=None) -> None:
        now = now or timezone.now()
        self.writing_ends_at = now + timedelta(minutes=self.writing_minutes)


class ReasonGroup(models.Model):
    """Reasons that say the same thing, under one title; what people vote on."""

    premortem = models.ForeignKey(Premortem, on_delete=models.CASCADE, related_name="groups")
    title = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class Reason(models.Model):
    """One way the change could fail, as one person wrote it. Hidden from everyone else until
    the premortem is revealed (see `premortems.rounds.reasons_for`)."""

    premortem = models.ForeignKey(Premortem, on_delete=models.CASCADE, related_name="reasons")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="premortem_reasons"
    )
    text = models.TextField(max_length=MAX_REASON_LENGTH)
    group = models.ForeignKey(
        ReasonGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="reasons"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["premortem", "author"])]

    def __str__(self) -> str:
        return f"Reason {self.pk}"


class Vote(models.Model):
    """One person's vote for one group; `Premortem.votes_per_person` caps how many they cast."""

    group = models.ForeignKey(ReasonGroup, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="premortem_votes"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "voter"], name="one_vote_per_group_and_voter")
        ]

    def __str__(self) -> str:
        return f"Vote for group {self.group_id}"
