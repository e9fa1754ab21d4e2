"""Reading a whole incident document in a fixed number of queries."""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone

from incidents import models as incident_models
from incidents.models import Incident
from kernel.kinds import document_lists, document_prefetch, page_registry


def incident_number(ref: str) -> int:
    number = incident_models.incident_number(ref)
    if number is None:
        raise Http404("No incident with that reference")
    return number


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
    queryset = queryset.prefetch_related(*document_prefetch())
    try:
        return queryset.get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None


def document_context(incident: Incident) -> dict:
    return {
        "incident": incident,
        "postmortem": incident.postmortem,
        **document_lists(incident),
        "block_kinds": page_registry(),
        "today": timezone.localdate(),
    }
