"""Opening an incident: its reference number, its postmortem and its first timeline entry."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from incidents.models import Incident, TimelineEntry
from postmortems.outlines import postmortem_create

NUMBER_ATTEMPTS = 5


def next_incident_number() -> int:
    return (Incident.objects.aggregate(top=Max("number"))["top"] or 0) + 1


def incident_open(*, incident: Incident, services=(), responders=(), user=None) -> Incident:
    """Save a new incident with the next free INC number, its postmortem and a first entry.

    Two people may open incidents at the same moment: the unique number makes one of them
    fail, and that one retries with the next number.
    """
    with transaction.atomic():
        for attempt in range(NUMBER_ATTEMPTS):
            try:
                with transaction.atomic():
                    incident.number = next_incident_number()
                    incident._history_user = user
                    incident.full_clean()
                    incident.save()
                    break
            except IntegrityError:
                incident.pk = None
                if attempt == NUMBER_ATTEMPTS - 1:
                    raise
        incident.services.set(services)
        incident.responders.set(responders)
        postmortem_create(incident=incident, user=user)
        entry = TimelineEntry(
            incident=incident,
            occurred_at=incident.detected_at or incident.started_at,
            kind=TimelineEntry.Kind.DETECTION,
            text=f"Incident opened: {incident.title}",
            added_by=user,
        )
        entry._history_user = user
        entry.save()
    return incident
