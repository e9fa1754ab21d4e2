"""Asking for a postmortem: the request is recorded and the incident owner is told by e-mail."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from incidents.models import Incident
from kernel import delivery as engine
from kernel.models import Delivery
from kernel.text import display_name
from postmortems.models import PostmortemRequest

TOPIC = "postmortem-request"
# Where `make run` serves, for links sent from a machine without a base URL set.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


def request_recipient(incident: Incident):
    """The incident owner; the team lead when the owner has left or there is none."""
    owner = incident.owner
    if owner is not None and owner.is_active and owner.email:
        return owner
    lead = incident.team.lead if incident.team_id else None
    if lead is not None and lead.is_active and lead.email:
        return lead
    return None


def postmortem_request(
    *, incident: Incident, user, reason: str
) -> tuple[PostmortemRequest, object]:
    """Record the request and queue the e-mail to whoever answers for the incident.

    Returns the request and the person told (None when nobody can be reached: the request is
    still recorded, and shown on the page).
    """
    recipient = request_recipient(incident)
    with transaction.atomic():
        asked = PostmortemRequest(postmortem=incident.postmortem, requested_by=user, reason=reason)
        asked.full_clean()
        asked.save()
        if recipient is not None:
            engine.queue(
                [
                    Delivery(
                        topic=TOPIC,
                        subject_id=asked.pk,
                        channel="email",
                        address={"to": [recipient.email]},
                    )
                ]
            )
    return asked, recipient


def _compose(delivery: Delivery, requests: dict[int, PostmortemRequest]) -> engine.Message:
    asked = requests.get(delivery.subject_id)
    if asked is None:
        raise engine.ChannelError("the request no longer exists", retryable=False)
    incident = asked.postmortem.incident
    base = (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/")
    url = base + reverse("document", args=[incident.ref])
    who = display_name(asked.requested_by) or "Someone"
    text = (
        f"{who} asks for a postmortem of {incident.ref} {incident.title}.\n\n"
        f"Why it would help:\n{asked.reason}\n\n"
        f"The document: {url}\n"
    )
    return engine.Message(
        subject=f"Postmortem asked for: {incident.ref} {incident.title}",
        text=text,
        data={"ref": incident.ref, "request": asked.pk},
    )


REQUEST_TOPIC = engine.Topic(
    name=TOPIC,
    label="Postmortem asked for",
    compose=_compose,
    prepare=lambda deliveries: PostmortemRequest.objects.select_related(
        "postmortem__incident", "requested_by"
    ).in_bulk({d.subject_id for d in deliveries}),
)
