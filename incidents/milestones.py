"""Milestones of an incident and the time-to metrics between them.

The times live on the incident row (so the metrics are properties of one row); a person sets
each by picking the timeline entry that marks it, and the entry's kind suggests the pick.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from incidents.models import Incident, TimelineEntry
from kernel.kinds import kind_of
from kernel.live import publish_on_commit


@dataclass(frozen=True)
class Milestone:
    key: str  # the incident's field is f"{key}_at"
    label: str
    suggested_by: str  # the timeline kind whose first entry usually marks it


MILESTONES = [
    Milestone("detected", "Detected", TimelineEntry.Kind.DETECTION),
    Milestone("acknowledged", "Acknowledged", TimelineEntry.Kind.RESPONSE),
    Milestone("escalated", "Escalated", TimelineEntry.Kind.ESCALATION),
    Milestone("mitigated", "Mitigated", TimelineEntry.Kind.MITIGATION),
    Milestone("resolved", "Resolved", TimelineEntry.Kind.RESOLUTION),
]


@dataclass(frozen=True)
class Metric:
    key: str  # the Incident property
    label: str
    start: str
    end: str


# Acknowledging is measured from detection: the alert cannot be answered before it exists.
METRICS = [
    Metric("time_to_detect", "Time to detect", "started", "detected"),
    Metric("time_to_acknowledge", "Time to acknowledge", "detected", "acknowledged"),
    Metric("time_to_mitigate", "Time to mitigate", "started", "mitigated"),
    Metric("time_to_resolve", "Time to resolve", "started", "resolved"),
]


def suggested_entry(milestone: Milestone, timeline: list[TimelineEntry]) -> TimelineEntry | None:
    return next((entry for entry in timeline if entry.kind == milestone.suggested_by), None)


def milestones_set(*, incident: Incident, picks: dict[str, TimelineEntry | None], user) -> Incident:
    """Set each picked milestone to its entry's time (None clears it); unpicked ones stay.

    Runs the incident's own rules (no milestone before the start, a resolved incident keeps
    its resolution time) and raises ValidationError naming the field when a pick breaks one.
    Open pages of the document hear of it after commit and redraw the header: its time-to
    figures and the picture. What follows a change of the incident (the postmortem's due date)
    follows this one too.
    """
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        for key, entry in picks.items():
            setattr(locked, f"{key}_at", entry.occurred_at if entry else None)
        locked.full_clean(exclude=["number", "owner", "team", "severity"])
        locked.version += 1
        locked._history_user = user
        locked.save()
        publish_on_commit(locked, "saved", user)
        kind = kind_of(locked)
        if kind is not None and kind.after_save:
            kind.after_save(locked)
    return locked
