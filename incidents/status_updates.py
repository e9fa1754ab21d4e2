"""A stakeholder status update beyond Hindsight: the summary e-mail list and team Slack.

Each place is one Delivery of the topic "status-update", queued in the transaction that posts
the update and sent by the delivery engine (retries, the reaper, the admin's log).

A private incident's update goes to no mailing list (its readers are not the incident's
people), and the team's channel hears only that there is one and where to read it.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from incidents.models import StatusUpdate
from incidents.slack import slack_address
from kernel import delivery as engine
from kernel.channels import ChannelError, slack_escape
from kernel.models import Delivery

TOPIC = "status-update"


def status_update_message(update: StatusUpdate) -> tuple[str, str]:
    incident = update.incident
    subject = f"[{incident.severity.name}] {incident.ref} {incident.title}: status update"
    lines = [
        f"Status: {incident.get_status_display()} - {incident.status_meaning}",
        "",
        f"What we know: {update.known}",
        "",
        f"What we are doing: {update.doing}",
    ]
    if update.next_update_at:
        next_at = timezone.localtime(update.next_update_at)
        lines += ["", f"Next update by {next_at:%Y-%m-%d %H:%M} {next_at.tzname()}."]
    return subject, "\n".join(lines)


def status_update_queue(update: StatusUpdate) -> list[Delivery]:
    """Queue a stakeholder update for every place configured; an internal one goes nowhere."""
    if not update.for_stakeholders:
        return []
    incident = update.incident
    deliveries = []
    emails = [] if incident.private else list(settings.HINDSIGHT_SUMMARY_EMAILS)
    if emails:
        deliveries.append(
            Delivery(topic=TOPIC, subject_id=update.pk, channel="email", address={"to": emails})
        )
    if incident.team is not None and incident.team.slack_webhook_url:
        deliveries.append(
            Delivery(
                topic=TOPIC,
                subject_id=update.pk,
                channel="slack",
                address=slack_address(incident.team),
            )
        )
    return engine.queue(deliveries)


def _incident_url(update: StatusUpdate) -> str:
    base = settings.HINDSIGHT_BASE_URL.rstrip("/")
    return base + reverse("incident-active", args=[update.incident.ref]) if base else ""


def _slack_payload(update: StatusUpdate, subject: str, text: str) -> dict:
    url = _incident_url(update)
    if update.incident.private:
        said = "A status update was posted for *a private incident*."
        if url:
            said += f" <{url}|Read it> (only the people on the incident can)."
        return {"text": said}
    return {"text": f"*{slack_escape(subject)}*\n{slack_escape(text)}"}


def _compose(delivery: Delivery, updates: dict[int, StatusUpdate]) -> engine.Message:
    update = updates.get(delivery.subject_id)
    if update is None:
        raise ChannelError("the status update no longer exists", retryable=False)
    subject, text = status_update_message(update)
    return engine.Message(
        subject=subject,
        text=text,
        slack=_slack_payload(update, subject, text),
        data={"ref": update.incident.ref, "status_update": update.pk},
    )


STATUS_UPDATE_TOPIC = engine.Topic(
    name=TOPIC,
    label="Stakeholder status update",
    compose=_compose,
    prepare=lambda deliveries: StatusUpdate.objects.select_related(
        "incident__severity", "incident__team"
    ).in_bulk({delivery.subject_id for delivery in deliveries}),
)
