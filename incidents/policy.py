"""Who may see and do what: the one place every view, stream, export, search and
notification asks.

Each question is a plain function of (user, incident) or a queryset filter, so that pages,
the API, streams and background jobs ask the same thing the same way.
"""

from __future__ import annotations

from django.db.models import QuerySet

from incidents.models import Incident


def visible_incidents(user, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """The incidents `user` may read, narrowed from `queryset` (all incidents by default)."""
    queryset = Incident.objects.all() if queryset is None else queryset
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    return queryset


def can_view(user, incident: Incident) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_edit(user, incident: Incident) -> bool:
    """Edit the document: sections, timeline, causes, whys, action items."""
    return can_view(user, incident)


def can_manage(user, incident: Incident) -> bool:
    """Change owner, team, responders, roles and the private flag; publish; share links."""
    return can_view(user, incident)


def can_open_incident(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def can_manage_team(user, team) -> bool:
    """Manage a team's members and settings (its webhooks, its tracker): its lead, and admins."""
    if not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff or (team.lead_id is not None and team.lead_id == user.pk))
