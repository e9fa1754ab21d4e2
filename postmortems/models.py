"""The postmortem document: sections, causes with their chains of whys, and what is published."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
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
    status_reason = models.TextField(
        blank=True, max_length=2000, help_text="Why the status last changed, when someone said why."
    )
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


class CauseCategory(models.Model):
    """A kind of cause (change or deploy, capacity, ...), so patterns show across incidents."""

    name = models.CharField(max_length=60, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "cause categories"

    def __str__(self) -> str:
        return self.name


class Cause(models.Model):
    class Kind(models.TextChoices):
        PRIMARY = "primary", "Primary"
        CONTRIBUTING = "contributing", "Contributing"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="causes")
    statement = models.TextField("problem statement", max_length=2000)
    kind = models.CharField(max_length=20, choices=Kind, default=Kind.PRIMARY)
    category = models.ForeignKey(
        CauseCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="causes"
    )
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


class AcceptedRisk(models.Model):
    """A conscious decision not to act on a cause for now: who took it, why, and when to look
    at it again. With an action item, it is what makes a cause count as covered."""

    cause = models.ForeignKey(Cause, on_delete=models.CASCADE, related_name="accepted_risks")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="accepted by",
        help_text="The person who decided the team lives with this risk for now.",
    )
    reason = models.TextField(
        "why it is accepted",
        max_length=2000,
        help_text="What makes not acting reasonable: cost, likelihood, what limits the damage.",
    )
    revisit_on = models.DateField(
        "look at it again on",
        help_text="The day the decision comes back to the weekly review.",
    )
    position = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"Accepted risk: {self.reason[:60]}"


class PostmortemRequest(models.Model):
    """Someone asking for a postmortem of an incident: recorded, and its owner is told.

    Anyone who can see an incident may ask; the best person to call a review is often someone
    who saw the problem without being in the middle of fixing it.
    """

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(
        "why a postmortem would help",
        max_length=2000,
        help_text="What you noticed, and what the team could learn from it.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Postmortem asked for on {self.postmortem.incident.ref}"


class Publication(models.Model):
    """One publishing of a postmortem: the stakeholders' version, frozen at that moment.

    Edits made afterwards reach stakeholders only when the postmortem is published again; only
    the status of the action items is read live, since following them is the point of reading.
    """

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="publications"
    )
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    content = models.JSONField(encoder=DjangoJSONEncoder)
    # When published before the checklist was complete: what was missing, and why it went out.
    missing = models.JSONField(default=list, blank=True)
    override_reason = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "number"], name="publication_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.postmortem} publication {self.number}"


class ShareLink(models.Model):
    """A read-only link for stakeholders without an account, e.g. a customer or the executives.

    Only a SHA-256 hash of the token is stored: the full link is shown once, when it is made,
    so a leaked database or backup hands out no working links.
    """

    class Kind(models.TextChoices):
        POSTMORTEM = "postmortem", "The postmortem"
        LIVE_UPDATES = "live_updates", "Live updates (the incident's state and stakeholder updates)"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(
        max_length=100, help_text='Who the link is for, such as "Acme Corp" or "exec staff".'
    )
    kind = models.CharField(
        "what it shows",
        max_length=20,
        choices=Kind,
        default=Kind.POSTMORTEM,
        help_text="A live-updates link shows the stakeholder status updates and the incident's "
        "state while it is going on, and the postmortem too once it is published.",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hide_names = models.BooleanField(
        "hide people's names",
        default=False,
        help_text="Leave names out everywhere but the timeline (a blameless external version).",
    )
    share_draft = models.BooleanField(
        default=False,
        help_text="Show the working draft, clearly marked DRAFT, instead of the published version.",
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Link for {self.label}"

    def clean(self) -> None:
        if self.kind == self.Kind.LIVE_UPDATES and self.share_draft:
            raise ValidationError(
                {"share_draft": "A live-updates link shows updates, never the working draft."}
            )

    @property
    def shows_live_updates(self) -> bool:
        return self.kind == self.Kind.LIVE_UPDATES

    def is_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.expires_at is not None and self.expires_at <= now

    def is_usable(self, now=None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.is_expired() else "active"


class ConflictCopy(models.Model):
    """Text that could not be merged with a save made in between, kept rather than lost."""

    class Resolution(models.TextChoices):
        MINE = "mine", "Kept mine"
        THEIRS = "theirs", "Kept theirs"
        BOTH = "both", "Edited both"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="conflict_copies")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField()
    base_version = models.PositiveIntegerField(help_text="The version the author started from.")
    against_version = models.PositiveIntegerField(help_text="The version saved in between.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolution = models.CharField(max_length=10, choices=Resolution, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "conflict copies"

    def __str__(self) -> str:
        return f"Conflict copy of {self.section} by {self.author}"

    def resolve(self, *, choice: str, user) -> None:
        self.resolution = choice
        self.resolved_by = user
        self.resolved_at = timezone.now()
        self._history_user = user
        self.save()
