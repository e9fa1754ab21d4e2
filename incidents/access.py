"""Who is on an incident, before and after a change, and the audit entries the change makes."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from incidents.audit import Action, audit
from incidents.models import Incident


@dataclass(frozen=True)
class IncidentAccess:
    pk: int
    owner_id: int | None
    team_id: int | None
    private: bool
    responders: frozenset[int]
    viewers: frozenset[int]

    @classmethod
    def of(cls, incident: Incident) -> IncidentAccess:
        return cls(
            pk=incident.pk,
            owner_id=incident.owner_id,
            team_id=incident.team_id,
            private=incident.private,
            responders=frozenset(incident.responders.values_list("pk", flat=True)),
            viewers=frozenset(incident.viewers.values_list("pk", flat=True)),
        )


def _names(pks) -> str:
    users = get_user_model().objects.filter(pk__in=pks).order_by("username")
    return ", ".join(user.get_username() for user in users) or "nobody"


def incident_access_audit(*, user, before: IncidentAccess, after: IncidentAccess) -> bool:
    """Write what changed in who may see or manage the incident; True when anything did."""
    incident = Incident.objects.select_related("owner", "team").get(pk=after.pk)
    changed = False
    if before.private != after.private:
        state = "private" if after.private else "not private"
        audit(user, Action.PRIVATE_CHANGED, incident, f"Now {state}.")
        changed = True
    lines = []
    if before.owner_id != after.owner_id:
        lines.append(f"Owner: {_names([before.owner_id])} → {_names([after.owner_id])}.")
    if before.team_id != after.team_id:
        lines.append(f"Team: {incident.team or 'none'}.")
    for label, old, new in (
        ("Responders", before.responders, after.responders),
        ("Viewers", before.viewers, after.viewers),
    ):
        if old != new:
            added, removed = new - old, old - new
            parts = [f"added {_names(added)}"] if added else []
            parts += [f"removed {_names(removed)}"] if removed else []
            lines.append(f"{label}: {'; '.join(parts)}.")
    if lines:
        audit(user, Action.ACCESS_CHANGED, incident, " ".join(lines))
        changed = True
    return changed
