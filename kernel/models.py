"""Rows the kernel keeps for every app: one per message going out by one channel."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Delivery(models.Model):
    """One message going out by one channel to one place; the log of what was sent.

    What it carries is named by `topic` (a registered topic such as a reminder digest or a
    published summary) and the row that topic reads (`subject_id`); how it goes by `channel`
    (a registered channel such as e-mail or Slack) and where by `address`, in that channel's
    terms. Each message is its own row so that one channel failing spares the others.

    A delivery is claimed (pending → sending) with a conditional UPDATE before anything is
    sent, and the claim is never taken back by the sender: a process that dies mid-send leaves
    it "sending" until the reaper marks it failed. It is not sent again by itself, since it may
    have arrived; "Send again" in the admin puts it back in the queue.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to send"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    topic = models.CharField(max_length=40, help_text="What it carries, e.g. a reminder digest.")
    subject_id = models.PositiveBigIntegerField(help_text="The row of the topic it carries.")
    channel = models.CharField(max_length=40)
    # Where, in the channel's terms: {"to": [...], "cc": [...]} for e-mail, {"team": id} for
    # Slack. Never a secret: a webhook URL is read from its owner at send time.
    address = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The sender's queue: only pending rows, in the order they may be tried.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_queue_idx",
            ),
            # The reaper's look for sends cut off midway.
            models.Index(
                fields=["claimed_at"], condition=Q(status="sending"), name="delivery_sending_idx"
            ),
            # A topic's own log: the deliveries of one nag or one publication.
            models.Index(fields=["topic", "subject_id"], name="delivery_subject_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sending", "sent", "failed"]),
                name="delivery_status_known",
            ),
            # The reaper finds a cut-off send by its claim time: "sending" always has one.
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="delivery_sending_has_claim",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.subject_id} by {self.channel}"

    @property
    def where(self) -> str:
        """Where it goes, in words, as its channel describes it."""
        from kernel.delivery import describe_address

        return describe_address(self)
