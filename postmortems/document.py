"""Reading a whole incident document in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import prefetch_related_objects
from django.http import Http404
from django.utils import timezone

from incidents import models as incident_models
from incidents.audit import audit_admin_view
from incidents.models import Incident
from incidents.policy import can_view, is_audited_view
from kernel.kinds import document_lists, document_prefetch, page_registry


def incident_number(ref: str) -> int:
    number = incident_models.incident_number(ref)
    if number is None:
        raise Http404("No incident with that reference")
    return number


# What every incident page shows in its header, read with the incident.
_HEADER = ("severity", "owner", "team", "postmortem")


def _visible(user, queryset, ref: str) -> Incident:
    """One incident `user` may see; anyone else is told it does not exist."""
    # Read by its number, then asked about: an incident anyone signed in may read costs no
    # further query, where filtering by who may read it cost the page its slowest query.
    try:
        incident = queryset.get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None
    if not can_view(user, incident):
        raise Http404("No incident with that reference")
    if is_audited_view(user, incident):
        audit_admin_view(user, incident)
    return incident


def incident_for(user, ref: str) -> Incident:
    """The incident a URL names, for a user who may see it (404 for anyone else)."""
    return _visible(user, Incident.objects.select_related(*_HEADER), ref)


def document_for(user, ref: str) -> Incident:
    """The incident with its whole document, for a user who may see it (404 otherwise)."""
    return load_document(incident_for(user, ref))


def load_document(incident: Incident, leave_out: Iterable[str] = ()) -> Incident:
    """The rest of the document of an incident read by `incident_for`, in a fixed number of
    queries. Lists named in `leave_out` are not loaded: the page reuses their cached HTML."""
    prefetch_related_objects([incident], *document_prefetch(leave_out))
    return incident


def document_for_ref(ref: str) -> Incident:
    """The whole document with no one's access asked: for share links and background jobs."""
    try:
        return document_queryset().get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None


def document_queryset():
    """Incidents with everything their document page shows, in a fixed number of queries."""
    return Incident.objects.select_related(*_HEADER).prefetch_related(*document_prefetch())


def document_context(incident: Incident, leave_out: Iterable[str] = ()) -> dict:
    return {
        "incident": incident,
        "postmortem": incident.postmortem,
        **document_lists(incident, leave_out),
        "block_kinds": page_registry(),
        "today": timezone.localdate(),
    }
