"""Reading a whole incident document in a fixed number of queries."""

from __future__ import annotations

import re

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import REF_PREFIX, Incident, TimelineEntry
from postmortems.models import Cause, Why

REF_PATTERN = re.compile(rf"^{REF_PREFIX}(\d{{1,9}})$", re.IGNORECASE)


def incident_number(ref: str) -> int:
    match = REF_PATTERN.match(ref)
    if not match:
        raise Http404("No incident with that reference")
    return int(match.group(1))


def incident_for_ref(ref: str) -> Incident:
    try:
        return Incident.objects.select_related("severity", "postmortem").get(
            number=incident_number(ref)
        )
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None


def document_for_ref(ref: str) -> Incident:
    """The incident with everything its document page shows, prefetched."""
    queryset = Incident.objects.select_related("severity", "owner", "team", "postmortem")
    queryset = queryset.prefetch_related(
        "services",
        "responders",
        Prefetch("timeline", TimelineEntry.objects.select_related("added_by")),
        "postmortem__sections",
        Prefetch(
            "postmortem__causes",
            Cause.objects.select_related("category").prefetch_related(
                Prefetch("whys", Why.objects.order_by("position", "id"))
            ),
        ),
        Prefetch("action_items", ActionItem.objects.select_related("owner", "cause")),
    )
    try:
        return queryset.get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None


def document_context(incident: Incident) -> dict:
    postmortem = incident.postmortem
    return {
        "incident": incident,
        "postmortem": postmortem,
        "sections": list(postmortem.sections.all()),
        "timeline": list(incident.timeline.all()),
        "causes": list(postmortem.causes.all()),
        "action_items": list(incident.action_items.all()),
        "today": timezone.localdate(),
    }
