"""Reading a whole incident document in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404
from django.utils import timezone

from incidents import models as incident_models
from incidents.audit import audit_admin_view
from incidents.models import Incident
from incidents.policy import is_audited_view, visible_incidents
from kernel.kinds import document_lists, document_prefetch, page_registry


def incident_number(ref: str) -> int:
    number = incident_models.incident_number(ref)
    if number is None:
        raise Http404("No incident with that reference")
    return number


def _visible(user, queryset, ref: str) -> Incident:
    """One incident `user` may see; anyone else is told it does not exist."""
    try:
        incident = visible_incidents(user, queryset).get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None
    if is_audited_view(user, incident):
        audit_admin_view(user, incident)
    return incident


def incident_for(user, ref: str) -> Incident:
    """The incident a URL names, for a user who may see it (404 for anyone else)."""
    return _visible(user, Incident.objects.select_related("severity", "team", "postmortem"), ref)


def document_for(user, ref: str, leave_out: Iterable[str] = ()) -> Incident:
    """The incident with its whole document, for a user who may see it (404 otherwise).

    Lists named in `leave_out` are not loaded: the page reuses their cached HTML.
    """
    return _visible(user, document_queryset(leave_out), ref)


def document_for_ref(ref: str) -> Incident:
    """The whole document with no one's access asked: for share links and background jobs."""
    try:
        return document_queryset().get(number=incident_number(ref))
    except Incident.DoesNotExist:
        raise Http404("No incident with that reference") from None


def document_queryset(leave_out: Iterable[str] = ()):
    """Incidents with everything their document page shows, in a fixed number of queries."""
    queryset = Incident.objects.select_related("severity", "owner", "team", "postmortem")
    return queryset.prefetch_related(*document_prefetch(leave_out))


def document_context(incident: Incident, leave_out: Iterable[str] = ()) -> dict:
    return {
        "incident": incident,
        "postmortem": incident.postmortem,
        **document_lists(incident, leave_out),
        "block_kinds": page_registry(),
        "today": timezone.localdate(),
    }
