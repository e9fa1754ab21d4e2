"""Incidents and their timelines: list, read, open, update; add and change timeline entries."""

from __future__ import annotations

from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from api.blocks import block_add, block_change
from api.core import (
    MAX_INT,
    Error,
    InvalidInput,
    Moment,
    Version,
    cursor_decode,
    cursor_encode,
    editable_incident,
    form_errors,
    if_match_version,
    incident_for,
    require_write,
    text,
)
from incidents import policy
from incidents.forms import IncidentCreateForm
from incidents.models import Incident, Service, Severity, Team, TimelineEntry
from incidents.opening import incident_open
from kernel.blocks import block_create
from kernel.kinds import kind_named

router = Router(tags=["incidents"])
IncidentStatus = Literal[tuple(Incident.Status.values)]
EntryKind = Literal[tuple(TimelineEntry.Kind.values)]
User = get_user_model()
READ_ERRORS = {401: Error, 404: Error, 422: InvalidInput, 429: Error}
# 400: a body that is not JSON at all.
WRITE_ERRORS = {**READ_ERRORS, 400: Error, 403: Error}
# Changing these is managing the incident, not editing its document.
MANAGED_FIELDS = {"owner", "team", "responders", "private"}

Slug = Annotated[str, Field(max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
Username = Annotated[str, Field(max_length=150, pattern=r"^[\w.@+-]+$")]
Level = Annotated[int, Field(ge=1, le=9)]


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _name(user) -> str | None:
    return user.get_username() if user else None


class IncidentOut(Schema):
    ref: str
    title: str
    severity: int
    status: str
    started_at: str
    detected_at: str | None
    mitigated_at: str | None
    resolved_at: str | None
    owner: str | None
    team: str | None
    services: list[str]
    responders: list[str]
    customer_facing: bool
    private: bool
    version: int
    url: str


def incident_out(incident: Incident) -> dict:
    return {
        "ref": incident.ref,
        "title": incident.title,
        "severity": incident.severity.level,
        "status": incident.status,
        "started_at": incident.started_at.isoformat(),
        "detected_at": _iso(incident.detected_at),
        "mitigated_at": _iso(incident.mitigated_at),
        "resolved_at": _iso(incident.resolved_at),
        "owner": _name(incident.owner),
        "team": incident.team.slug if incident.team else None,
        "services": [service.slug for service in incident.services.all()],
        "responders": [person.get_username() for person in incident.responders.all()],
        "customer_facing": incident.customer_facing,
        "private": incident.private,
        "version": incident.version,
        "url": incident.get_absolute_url(),
    }


def _incidents():
    return Incident.objects.select_related("severity", "owner", "team").prefetch_related(
        "services", Prefetch("responders", User.objects.order_by("username"))
    )


class IncidentPage(Schema):
    items: list[IncidentOut]
    next_cursor: str | None


class IncidentFilters(Schema):
    status: IncidentStatus | None = None
    active: bool | None = Field(None, description="Only incidents still being worked on.")
    severity: Level | None = None
    team: Slug | None = None
    service: Slug | None = None
    q: str | None = Field(None, max_length=200, pattern=r"^[^\x00]*$", description="In titles.")
    started_after: Moment | None = None
    started_before: Moment | None = None
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(25, ge=1, le=100)


@router.get("/incidents/", response={200: IncidentPage, **READ_ERRORS})
def incident_list(request, filters: Query[IncidentFilters]):
    """Incidents you may see, newest opened first, a page at a time (follow `next_cursor`)."""
    incidents = policy.visible_incidents(request.user, _incidents()).order_by("-number")
    if filters.status:
        incidents = incidents.filter(status=filters.status)
    if filters.active is not None:
        active = incidents.filter(status__in=Incident.ACTIVE_STATUSES)
        incidents = active if filters.active else incidents.exclude(pk__in=active)
    if filters.severity:
        incidents = incidents.filter(severity__level=filters.severity)
    if filters.team:
        incidents = incidents.filter(team__slug=filters.team)
    if filters.service:
        incidents = incidents.filter(services__slug=filters.service)
    if filters.q:
        incidents = incidents.filter(title__icontains=filters.q)
    if filters.started_after:
        incidents = incidents.filter(started_at__gte=filters.started_after)
    if filters.started_before:
        incidents = incidents.filter(started_at__lt=filters.started_before)
    after = cursor_decode(filters.cursor)
    if after is not None:
        incidents = incidents.filter(number__lt=after)
    rows = list(incidents[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {
        "items": [incident_out(row) for row in rows],
        "next_cursor": cursor_encode(rows[-1].number) if more else None,
    }


@router.get("/incidents/{ref}/", response={200: IncidentOut, **READ_ERRORS})
def incident_read(request, ref: str):
    return incident_out(incident_for(request, ref, queryset=_incidents()))


class IncidentIn(Schema):
    title: str = text(200, one_line=True, min_length=1)
    severity: Level
    started_at: Moment | None = None
    detected_at: Moment | None = None
    team: Slug | None = None
    services: list[Slug] = Field(default_factory=list, max_length=50)
    customer_facing: bool = False
    private: bool = False
    summary: str | None = Field(
        None, max_length=5000, pattern=r"^[^\x00]*$", description="Becomes a first timeline note."
    )


def _one(model, field: str, value, label: str):
    if value in (None, ""):
        return None
    found = model.objects.filter(**{field: value}).first()
    if found is None:
        raise DjangoValidationError({label: [f"No {label} {value!r}."]})
    return found.pk


def _many(model, field: str, values, label: str) -> list[int]:
    return [_one(model, field, value, label) for value in values]


@router.post("/incidents/", response={201: IncidentOut, **WRITE_ERRORS})
def incident_create(request, payload: IncidentIn):
    """Open an incident, as the page does: its number, postmortem and first timeline entry."""
    require_write(request)
    if not policy.can_open_incident(request.user):
        raise HttpError(403, "You may not open incidents.")
    data = {
        "title": payload.title,
        "severity": _one(Severity, "level", payload.severity, "severity"),
        "started_at": payload.started_at or timezone.now(),
        "detected_at": payload.detected_at,
        "team": _one(Team, "slug", payload.team, "team"),
        "services": _many(Service, "slug", payload.services, "service"),
        "customer_facing": payload.customer_facing,
        "private": payload.private,
    }
    form = IncidentCreateForm(data)
    if not form.is_valid():
        raise form_errors(form)
    incident = form.save(commit=False)
    incident.owner = request.user
    incident_open(
        incident=incident,
        services=form.cleaned_data["services"],
        responders=[request.user],
        user=request.user,
    )
    if payload.summary:
        block_create(
            block=TimelineEntry(
                incident=incident,
                occurred_at=incident.started_at,
                text=payload.summary,
                added_by=request.user,
                source=TimelineEntry.Source.API,
            ),
            user=request.user,
        )
    return Status(201, incident_out(_incidents().get(pk=incident.pk)))


class IncidentChange(Schema):
    """Only the fields you send change; `version` (or If-Match) is the version you started from."""

    version: Version | None = None
    title: str | None = text(200, one_line=True, min_length=1, default=None)
    severity: Level | None = None
    status: IncidentStatus | None = None
    started_at: Moment | None = None
    detected_at: Moment | None = None
    mitigated_at: Moment | None = None
    resolved_at: Moment | None = None
    owner: Username | None = None
    responders: list[Username] | None = Field(None, max_length=100)
    team: Slug | None = None
    services: list[Slug] | None = Field(None, max_length=50)
    customer_facing: bool | None = None
    private: bool | None = None


class IncidentConflict(Schema):
    detail: str
    current: IncidentOut


@router.patch(
    "/incidents/{ref}/", response={200: IncidentOut, 409: IncidentConflict, **WRITE_ERRORS}
)
def incident_update(request, ref: str, payload: IncidentChange):
    """Change the incident's header. Owner, team, responders and private need its manager."""
    incident = editable_incident(request, ref, queryset=_incidents())
    sent = payload.model_dump(exclude_unset=True)
    base_version = if_match_version(request, sent.pop("version", None))
    if sent.keys() & MANAGED_FIELDS and not policy.can_manage(request.user, incident):
        raise HttpError(403, "Only the incident's owner or the team lead may change that.")
    for name in ("title", "severity", "status", "customer_facing", "private"):
        if name in sent and sent[name] is None:
            raise DjangoValidationError({name: ["This cannot be empty."]})
    lookups = {
        "severity": (Severity, "level"),
        "owner": (User, User.USERNAME_FIELD),
        "team": (Team, "slug"),
    }
    for name, (model, field) in lookups.items():
        if name in sent:
            sent[name] = _one(model, field, sent[name], name)
    if "responders" in sent:
        sent["responders"] = _many(User, User.USERNAME_FIELD, sent["responders"] or [], "person")
    if "services" in sent:
        sent["services"] = _many(Service, "slug", sent["services"] or [], "service")
    result = block_change(
        kind="incident",
        incident=incident,
        block=incident,
        changes=sent,
        base_version=base_version,
        user=request.user,
    )
    current = incident_out(_incidents().get(pk=incident.pk))
    if result.stale:
        return Status(
            409,
            {
                "detail": f"Someone changed {incident.ref} since version {base_version}; "
                f"it is at version {current['version']} now. Nothing was saved.",
                "current": current,
            },
        )
    return current


# Timeline ----------------------------------------------------------------------------------


class EntryOut(Schema):
    id: int
    occurred_at: str
    kind: str
    text: str
    source: str
    added_by: str | None
    version: int


def entry_out(entry: TimelineEntry) -> dict:
    return {
        "id": entry.pk,
        "occurred_at": entry.occurred_at.isoformat(),
        "kind": entry.kind,
        "text": entry.text,
        "source": entry.source,
        "added_by": _name(entry.added_by),
        "version": entry.version,
    }


@router.get("/incidents/{ref}/timeline/", response={200: list[EntryOut], **READ_ERRORS})
def timeline_list(request, ref: str):
    incident = incident_for(request, ref)
    return [entry_out(e) for e in incident.timeline.select_related("added_by")]


class EntryIn(Schema):
    occurred_at: Moment
    kind: EntryKind = "note"
    text: str = text(5000, min_length=1)


@router.post("/incidents/{ref}/timeline/", response={201: EntryOut, **WRITE_ERRORS})
def timeline_add(request, ref: str, payload: EntryIn):
    incident = editable_incident(request, ref)
    entry = block_add(
        kind="entry",
        incident=incident,
        block=TimelineEntry(incident=incident, added_by=request.user),
        data=payload.model_dump(),
        user=request.user,
        source=TimelineEntry.Source.API,
    )
    return Status(201, entry_out(entry))


class EntryChange(Schema):
    version: Version | None = None
    occurred_at: Moment | None = None
    kind: EntryKind | None = None
    text: str | None = text(5000, min_length=1, default=None)


class EntryConflict(Schema):
    detail: str
    current: EntryOut


@router.patch(
    "/incidents/{ref}/timeline/{entry_id}/",
    response={200: EntryOut, 409: EntryConflict, **WRITE_ERRORS},
)
def timeline_update(
    request, ref: str, entry_id: Annotated[int, Field(ge=1, le=MAX_INT)], payload: EntryChange
):
    incident = editable_incident(request, ref)
    entry = kind_named("entry").get(incident, entry_id)
    sent = payload.model_dump(exclude_unset=True)
    base_version = if_match_version(request, sent.pop("version", None))
    for name, value in sent.items():
        if value is None:
            raise DjangoValidationError({name: ["This cannot be empty."]})
    result = block_change(
        kind="entry",
        incident=incident,
        block=entry,
        changes=sent,
        base_version=base_version,
        user=request.user,
    )
    current = entry_out(TimelineEntry.objects.select_related("added_by").get(pk=entry.pk))
    if result.stale:
        return Status(
            409,
            {
                "detail": f"Someone changed this entry since version {base_version}. "
                "Nothing was saved.",
                "current": current,
            },
        )
    return current
