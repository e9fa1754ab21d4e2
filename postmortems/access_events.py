"""Tell open pages when who may see an incident may have changed, however it changed.

The header form, the team page, the admin site and the shell all end in these signals, so an
open event stream asks its person's access again at once, wherever the change was made.
"""

from __future__ import annotations

from django.db.models.signals import m2m_changed, post_save

from incidents.models import Incident, Team
from kernel.live import document_event_on_commit

ACCESS_EVENT = {"type": "access"}


def _incident_changed(sender, instance: Incident, created: bool, **kwargs) -> None:
    if not created:
        document_event_on_commit(instance.pk, ACCESS_EVENT)


def _incident_people_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    incident_ids = (pk_set or ()) if reverse else [instance.pk]
    for incident_id in incident_ids:
        document_event_on_commit(incident_id, ACCESS_EVENT)


def _team_members_changed(sender, instance, action: str, reverse: bool, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    team_ids = (pk_set or ()) if reverse else [instance.pk]
    private = Incident.objects.filter(team__in=team_ids, private=True)
    for incident_id in private.values_list("pk", flat=True):
        document_event_on_commit(incident_id, ACCESS_EVENT)


def connect() -> None:
    post_save.connect(_incident_changed, sender=Incident, dispatch_uid="access-incident")
    for field in (Incident.responders, Incident.viewers):
        m2m_changed.connect(
            _incident_people_changed, sender=field.through, dispatch_uid=f"access-{field.field}"
        )
    m2m_changed.connect(
        _team_members_changed, sender=Team.members.through, dispatch_uid="access-team-members"
    )
