"""The demo's incident still in progress: its roles and the status updates posted so far."""

from __future__ import annotations

from datetime import datetime, timedelta

from incidents.models import Incident, StatusUpdate, TimelineEntry
from incidents.response import status_update_text


def seed_active_response(incident: Incident, people: dict, start: datetime) -> None:
    """Give the open demo incident a communications lead, a scribe and two status updates.

    Written as rows with their own times (not through `status_update_post`), so the demo does
    not send e-mail or Slack messages and reads as if the updates came as the incident ran.
    """
    incident.communications_lead = people["sam"]
    incident.scribe = people["lena"]
    incident._history_user = incident.owner
    incident.save()
    incident.responders.add(people["sam"], people["lena"])
    updates = [
        (
            14,
            StatusUpdate.Audience.INTERNAL,
            "SSO logins fail for about a fifth of attempts; password logins are fine.",
            "Checking the identity provider's recent changes and our certificate cache.",
            30,
        ),
        (
            26,
            StatusUpdate.Audience.STAKEHOLDERS,
            "Customers who sign in with single sign-on may see an error. Other sign-ins work.",
            "We found the likely cause, a certificate change at our identity provider, and are "
            "updating our side to trust the new certificate.",
            30,
        ),
    ]
    for minutes, audience, known, doing, next_in in updates:
        posted_at = start + timedelta(minutes=minutes)
        update = StatusUpdate(
            incident=incident,
            posted_at=posted_at,
            author=people["sam"],
            audience=audience,
            known=known,
            doing=doing,
            next_update_at=posted_at + timedelta(minutes=next_in),
        )
        update.entry = TimelineEntry.objects.create(
            incident=incident,
            occurred_at=posted_at,
            kind=TimelineEntry.Kind.COMMUNICATION,
            text=status_update_text(update),
            added_by=people["sam"],
        )
        update._history_user = people["sam"]
        update.save()
