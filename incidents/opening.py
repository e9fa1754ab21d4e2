"""Opening an incident: its reference number, its postmortem and its first timeline entry."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.db.models import Max

from incidents.models import Incident, TimelineEntry
from incidents.webhooks import incident_data, webhook_event_raise

NUMBER_ATTEMPTS = 5

# What the apps above need done for every new incident, in the same transaction (the
# postmortems app creates the document). Registered in their AppConfig.ready().
_OPENED: list[Callable[..., object]] = []


def on_incident_opened(callback: Callable[..., object]) -> None:
    """Call `callback(incident=, user=)` whenever an incident is opened."""
    if callback not in _OPENED:
        _OPENED.append(callback)


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
        for callback in _OPENED:
            callback(incident=incident, user=user)
        entry = TimelineEntry(
            incident=incident,
            occurred_at=incident.detected_at or incident.started_at,
            kind=TimelineEntry.Kind.DETECTION,
            text=f"Incident opened: {incident.title}",
            added_by=user,
        )
        entry._history_user = user
        entry.save()
        webhook_event_raise(
            event="incident.opened", team=incident.team, data={"incident": incident_data(incident)}
        )
    return incident
