"""Who may see and do what: the one place every view, stream, export, search and
notification asks.

Each question is a plain function of (user, incident) or a queryset filter, so that pages,
the API, streams and background jobs ask the same thing the same way.

Roles:
- admin: a superuser; sees and does everything (reading a private incident is audited).
- viewer: a read-only account (in the "Read-only" group); reads, never edits or opens.
- member: anyone else signed in; reads non-private incidents, edits their documents while the
  organisation setting allows it, opens incidents.
- responder, incident owner: edit the document. Only the owner, the owning team's lead and
  admins manage the incident (owner, team, responders, viewers, private flag, publishing,
  share links). Being a responder never grants that.
- team lead: manages the team's members and settings.

A private incident is seen by its owner, responders, the owning team's members and lead, the
people added as its viewers, and admins; to anyone else it does not exist (404).
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from incidents.models import Incident, Organisation, Team

READ_ONLY_GROUP = "Read-only"


def _signed_in(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active


def is_admin(user) -> bool:
    return _signed_in(user) and user.is_superuser


def is_read_only(user) -> bool:
    """A viewer account: reads what it may see, changes nothing."""
    if not _signed_in(user) or user.is_superuser:
        return False
    cached = getattr(user, "_hindsight_read_only", None)
    if cached is None:
        cached = user.groups.filter(name=READ_ONLY_GROUP).exists()
        user._hindsight_read_only = cached
    return cached


def _insiders(user) -> Q:
    """Incidents `user` is on: owner, responder, owning team member or lead, added viewer."""
    return (
        Q(owner=user)
        | Q(pk__in=Incident.responders.through.objects.filter(user=user).values("incident_id"))
        | Q(pk__in=Incident.viewers.through.objects.filter(user=user).values("incident_id"))
        | Q(team__lead=user)
        | Q(team__in=Team.members.through.objects.filter(user=user).values("team_id"))
    )


def visible_incidents(user, queryset: QuerySet[Incident] | None = None) -> QuerySet[Incident]:
    """The incidents `user` may read, narrowed from `queryset` (all incidents by default)."""
    queryset = Incident.objects.all() if queryset is None else queryset
    if not _signed_in(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(private=False) | _insiders(user))


def visible_rows(user, *, incident: str = "incident", private: str = "private") -> Q:
    """A filter for rows of a large table that keeps a copy of its incident's private flag
    (`private`, next to the relation `incident`): true where `user` may read the incident.

    The same answer as `visible_incidents`, shaped for the planner: a public row passes on its
    own column, and only private rows are looked up among the private incidents the reader is
    on, so a search over a million rows never visits every incident.
    """
    if not _signed_in(user):
        return Q(pk__in=[])
    if user.is_superuser:
        return Q()
    private_ones = visible_incidents(user, Incident.objects.filter(private=True))
    return Q(**{private: False}) | Q(**{f"{incident}__in": private_ones})


def visibility_scope(user) -> str:
    """A key equal for two people exactly when they may read the same incidents.

    What is computed over `visible_incidents` and kept (insights figures) is stored under it,
    so nobody is ever shown numbers that count an incident hidden from them. It lives here,
    beside the rule it mirrors: non-private incidents are read by everyone signed in, private
    ones by their insiders.
    """
    if not _signed_in(user):
        return "nobody"
    if user.is_superuser:
        return "everything"
    private = (
        Incident.objects.filter(private=True)
        .filter(_insiders(user))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    digest = hashlib.sha256(",".join(map(str, private)).encode()).hexdigest()[:32]
    return f"public+{digest}"


def _is_insider(user, incident: Incident) -> bool:
    """On the incident: owner, responder, owning team, or an added viewer."""
    if incident.owner_id == user.pk:
        return True
    if _on_team(user, incident):
        return True
    return (
        incident.responders.filter(pk=user.pk).exists()
        or incident.viewers.filter(pk=user.pk).exists()
    )


def _on_team(user, incident: Incident) -> bool:
    team = incident.team
    return team is not None and (
        team.lead_id == user.pk or team.members.filter(pk=user.pk).exists()
    )


def _is_responder(user, incident: Incident) -> bool:
    return incident.owner_id == user.pk or incident.responders.filter(pk=user.pk).exists()


def can_view(user, incident: Incident) -> bool:
    if not _signed_in(user):
        return False
    if user.is_superuser or not incident.private:
        return True
    return _is_insider(user, incident)


def can_edit(user, incident: Incident) -> bool:
    """Edit the document: sections, timeline, causes, whys, action items."""
    if not can_view(user, incident) or is_read_only(user):
        return False
    if user.is_superuser or can_manage(user, incident) or _is_responder(user, incident):
        return True
    if _on_team(user, incident):
        return True  # the owning team writes its own postmortems, whatever the setting
    if incident.private:
        return False  # an added viewer reads a private incident, and only reads it
    return Organisation.current().members_edit_any_postmortem


def can_manage(user, incident: Incident) -> bool:
    """Change owner, team, responders, viewers and the private flag; publish; share links."""
    if not _signed_in(user) or is_read_only(user):
        return False
    if user.is_superuser or incident.owner_id == user.pk:
        return True
    return incident.team is not None and incident.team.lead_id == user.pk


can_publish = can_manage  # publish, send the summary, make and revoke share links


def can_open_incident(user) -> bool:
    return _signed_in(user) and not is_read_only(user)


can_ask_postmortem = can_open_incident


def can_manage_team(user, team: Team) -> bool:
    """Change a team's members and settings: its lead and admins."""
    if not _signed_in(user) or is_read_only(user):
        return False
    return user.is_superuser or team.lead_id == user.pk


def can_see_audit_log(user) -> bool:
    return is_admin(user)


def is_audited_view(user, incident: Incident) -> bool:
    """An admin reading a private incident they are not on: the audit log records it."""
    return incident.private and is_admin(user) and not _is_insider(user, incident)


def people_who_can_see(incident: Incident) -> QuerySet:
    """Everyone who may read the incident: notifications about it go to no one else."""
    users = get_user_model().objects.filter(is_active=True)
    if not incident.private:
        return users
    on_incident = Q(is_superuser=True) | Q(responded_incidents=incident)
    on_incident |= Q(viewable_incidents=incident)
    if incident.owner_id:
        on_incident |= Q(pk=incident.owner_id)
    if incident.team_id:
        on_incident |= Q(teams=incident.team_id) | Q(led_teams=incident.team_id)
    return users.filter(on_incident).distinct()


def require_edit(user, incident: Incident) -> None:
    """Refuse (403, in words) a change to the document by someone who may only read it."""
    if not can_edit(user, incident):
        raise PermissionDenied(
            "You can read this postmortem but not change it: ask its owner to add you as a "
            "responder."
        )


def require_manage(user, incident: Incident) -> None:
    """Refuse (403, in words) what only the incident owner, team lead and admins may do."""
    if not can_manage(user, incident):
        raise PermissionDenied(
            "Only the incident owner, the lead of its team and admins may do this."
        )


def sees_incident(user_field: str, incident: str = "incident") -> Q:
    """A filter for rows pairing a person (`user_field`, a field or annotation holding a user
    id) with an incident (`incident`, a relation): true where that person may see it.

    Reminders ask it in SQL, so a million rows cost no per-row question.
    """
    User = get_user_model()
    person = OuterRef(user_field)
    on_incident = {"incident_id": OuterRef(f"{incident}_id"), "user_id": person}
    return (
        Q(**{f"{incident}__private": False})
        | Q(**{f"{incident}__owner_id": F(user_field)})
        | Q(**{f"{incident}__team__lead_id": F(user_field)})
        | Exists(Incident.responders.through.objects.filter(**on_incident))
        | Exists(Incident.viewers.through.objects.filter(**on_incident))
        | Exists(
            Team.members.through.objects.filter(
                team_id=OuterRef(f"{incident}__team_id"), user_id=person
            )
        )
        | Exists(User.objects.filter(pk=person, is_superuser=True))
    )


# Team records other than incidents ---------------------------------------------------------
#
# A premortem (and any later record of the same shape) belongs to a team, may be private, and
# has people on it: its facilitator and participants. The rule is the private incident's: a
# private record is seen by the team's members and lead, the people on it and admins, and by
# nobody else; a non-private one by everyone signed in. Callers pass the queryset, so this
# module stays below the apps that own such records.

TEAM_RECORD_PEOPLE = ("facilitator", "participants")


def _team_record_insiders(user, people: tuple[str, ...]) -> Q:
    on_it = Q(team__lead=user) | Q(
        team__in=Team.members.through.objects.filter(user=user).values("team_id")
    )
    for field in people:
        on_it |= Q(**{field: user})
    return on_it


def visible_team_records(
    user, queryset: QuerySet, people: tuple[str, ...] = TEAM_RECORD_PEOPLE
) -> QuerySet:
    """The team records of `queryset` that `user` may read (a premortem, say)."""
    if not _signed_in(user):
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(private=False) | _team_record_insiders(user, people)).distinct()


def _on_team_record(user, record) -> bool:
    if record.facilitator_id == user.pk:
        return True
    team = record.team
    if team.lead_id == user.pk or team.members.filter(pk=user.pk).exists():
        return True
    return record.participants.filter(pk=user.pk).exists()


def can_view_team_record(user, record) -> bool:
    if not _signed_in(user):
        return False
    if user.is_superuser or not record.private:
        return True
    return _on_team_record(user, record)


def can_take_part(user, record) -> bool:
    """Write, group and vote in a premortem: anyone who may read it and is no read-only account
    (taking part makes them a participant)."""
    return can_view_team_record(user, record) and not is_read_only(user)


def can_facilitate(user, record) -> bool:
    """Move a premortem through its phases and turn its groups into action items: the
    facilitator, the team's lead and admins."""
    if not _signed_in(user) or is_read_only(user):
        return False
    if user.is_superuser or record.facilitator_id == user.pk:
        return True
    return record.team.lead_id == user.pk


def require_take_part(user, record) -> None:
    if not can_take_part(user, record):
        raise PermissionDenied("You can read this premortem but not take part in it.")


def require_facilitate(user, record) -> None:
    if not can_facilitate(user, record):
        raise PermissionDenied("Only the facilitator, the lead of its team and admins may do this.")


def sees_team_record(user_field: str, record: str, participants) -> Q:
    """Like `sees_incident`, for a team record reached through the relation `record`;
    `participants` is the record's participants field (`Premortem.participants`)."""
    User = get_user_model()
    person = OuterRef(user_field)
    through = participants.through
    source = participants.field.m2m_field_name()
    return (
        Q(**{f"{record}__private": False})
        | Q(**{f"{record}__facilitator_id": F(user_field)})
        | Q(**{f"{record}__team__lead_id": F(user_field)})
        | Exists(through.objects.filter(**{source: OuterRef(f"{record}_id"), "user_id": person}))
        | Exists(
            Team.members.through.objects.filter(
                team_id=OuterRef(f"{record}__team_id"), user_id=person
            )
        )
        | Exists(User.objects.filter(pk=person, is_superuser=True))
    )


# Action items ------------------------------------------------------------------------------
#
# An action item follows up an incident, or a team record (a premortem's preventive items):
# whoever may see that sees the item, whoever may edit that document (or take part in that
# premortem) may change it.


def visible_action_items(user, queryset: QuerySet) -> QuerySet:
    """The items of `queryset` whose incident or premortem `user` may see."""
    premortems = queryset.model._meta.get_field("premortem").related_model.objects.all()
    return queryset.filter(
        Q(incident__in=visible_incidents(user, Incident.objects.all()))
        | Q(premortem__in=visible_team_records(user, premortems))
    )


def can_view_action_item(user, item) -> bool:
    if item.incident_id:
        return can_view(user, item.incident)
    return can_view_team_record(user, item.premortem)


def can_edit_action_item(user, item) -> bool:
    if item.incident_id:
        return can_edit(user, item.incident)
    return can_take_part(user, item.premortem)


def require_action_item_edit(user, item) -> None:
    if item.incident_id:
        require_edit(user, item.incident)
    else:
        require_take_part(user, item.premortem)
