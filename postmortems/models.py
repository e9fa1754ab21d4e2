"""The postmortem document: sections, causes with their chains of whys, and what is published."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import LazyObject, empty
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


class WordingRule(models.Model):
    """A phrase an organisation wants pointed out while people write, beside the built-in ones.

    The page shows `why` and `suggestion` beside the text; nothing is ever refused for it.
    """

    phrase = models.CharField(
        max_length=200,
        unique=True,
        help_text="Words to point out, matched whole and in any case; end a word with * for any "
        "ending (“blam*” finds blame, blamed, blaming).",
    )
    why = models.CharField(
        max_length=300, help_text="Why these words get in the way of a blameless review."
    )
    suggestion = models.CharField(
        max_length=300, help_text="What to write about instead, as a question or a hint."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["phrase"]

    def __str__(self) -> str:
        return self.phrase

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if not re.search(r"\w", self.phrase):
            raise ValidationError({"phrase": "Give at least one word."})

    def as_rule(self):
        from postmortems.blameless import Rule

        words = []
        for word in self.phrase.split():
            star = word.endswith("*")
            words.append(re.escape(word.rstrip("*")) + (r"\w*" if star else ""))
        return Rule(f"custom-{self.pk}", r"\s+".join(words), self.why, self.suggestion)


class WordingAcknowledgement(models.Model):
    """The owner read a note on a block's wording and decided the words may stay, and why.

    A note is named by its rule and the words it found (`Note.key`), so it stays acknowledged
    while those words stay, however the rest of the text changes.
    """

    postmortem = models.ForeignKey(
        Postmortem, on_delete=models.CASCADE, related_name="wording_acknowledgements"
    )
    block_kind = models.CharField(max_length=40)
    block_id = models.PositiveBigIntegerField()
    note_key = models.CharField(max_length=300)
    reason = models.CharField(max_length=500, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-acknowledged_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "block_kind", "block_id", "note_key"],
                name="wording_acknowledgement_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.note_key} on {self.block_kind} {self.block_id}"


class ImageStorage(LazyObject):
    """The "images" storage of STORAGES, looked up when first used (and again after a
    settings change, so a test can point it at another backend)."""

    def _setup(self):
        self._wrapped = storages["images"]


image_storage = ImageStorage()


@receiver(setting_changed)
def _image_storage_changed(*, setting, **kwargs) -> None:
    if setting == "STORAGES":
        image_storage._wrapped = empty


def _image_storage():
    return image_storage


class Image(models.Model):
    """A graph or screenshot shown with a section, a timeline entry or the evidence of a why.

    The files live in the "images" storage (a folder under var/ or a private bucket) and are
    only ever served through Hindsight, which asks who may see the incident first.
    """

    class Format(models.TextChoices):
        PNG = "png", "PNG"
        JPEG = "jpeg", "JPEG"
        WEBP = "webp", "WebP"

    postmortem = models.ForeignKey(Postmortem, on_delete=models.CASCADE, related_name="images")
    # Exactly one of these: the block the image is shown with.
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, related_name="images"
    )
    entry = models.ForeignKey(
        "incidents.TimelineEntry",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="images",
    )
    why = models.ForeignKey(
        Why, null=True, blank=True, on_delete=models.CASCADE, related_name="images"
    )
    file = models.FileField(storage=_image_storage, upload_to="images/%Y/%m/", max_length=200)
    thumbnail = models.FileField(
        storage=_image_storage, upload_to="thumbnails/%Y/%m/", max_length=200
    )
    format = models.CharField(max_length=10, choices=Format)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    caption = models.CharField(
        max_length=300,
        blank=True,
        help_text="What the image shows, for readers and screen readers.",
    )
    original_name = models.CharField(max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1, editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(section__isnull=False, entry__isnull=True, why__isnull=True)
                    | models.Q(section__isnull=True, entry__isnull=False, why__isnull=True)
                    | models.Q(section__isnull=True, entry__isnull=True, why__isnull=False)
                ),
                name="image_shown_with_one_block",
            )
        ]

    def __str__(self) -> str:
        return self.caption or self.original_name or f"Image {self.pk}"

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"

    @property
    def extension(self) -> str:
        return "jpg" if self.format == self.Format.JPEG else self.format

    @property
    def host(self) -> models.Model:
        return self.section or self.entry or self.why

    @property
    def thumbnail_size(self) -> tuple[int, int]:
        """The thumbnail's width and height (it fits 480 × 320, never enlarged)."""
        scale = min(1.0, 480 / self.width, 320 / self.height)
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))
