"""The postmortem document: its sections, and its causes with their chains of whys."""

from __future__ import annotations

from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.http import Http404
from ninja import Router, Schema, Status
from pydantic import Field

from api.blocks import block_add, block_change
from api.core import (
    MAX_INT,
    Error,
    InvalidInput,
    Version,
    editable_incident,
    if_match_version,
    incident_for,
    text,
)
from kernel.kinds import kind_named, next_position
from postmortems.models import Cause, Section, Why

router = Router(tags=["postmortem"])
CauseKind = Literal[tuple(Cause.Kind.values)]
READ_ERRORS = {401: Error, 404: Error, 422: InvalidInput, 429: Error}
# 400: a body that is not JSON at all.
WRITE_ERRORS = {**READ_ERRORS, 400: Error, 403: Error}
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
SectionKey = Annotated[str, Field(max_length=50, pattern=r"^[-a-z0-9_]+$")]


class SectionOut(Schema):
    key: str
    title: str
    hint: str
    body: str
    internal: bool
    version: int


def section_out(section: Section) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "hint": section.hint,
        "body": section.body,
        "internal": section.internal,
        "version": section.version,
    }


def _section(incident, key: str) -> Section:
    section = Section.objects.filter(postmortem__incident=incident, key=key).first()
    if section is None:
        raise Http404(f"{incident.ref}'s postmortem has no section {key!r}.")
    return section


@router.get("/incidents/{ref}/sections/", response={200: list[SectionOut], **READ_ERRORS})
def section_list(request, ref: str):
    incident = incident_for(request, ref)
    return [section_out(s) for s in Section.objects.filter(postmortem__incident=incident)]


@router.get("/incidents/{ref}/sections/{key}/", response={200: SectionOut, **READ_ERRORS})
def section_read(request, ref: str, key: SectionKey):
    return section_out(_section(incident_for(request, ref), key))


class SectionIn(Schema):
    body: str = text(100_000)
    version: Version | None = None


class SectionSaved(SectionOut):
    merged: bool


class SectionConflict(Schema):
    detail: str
    current: SectionOut
    conflict_copy: int | None


@router.put(
    "/incidents/{ref}/sections/{key}/",
    response={200: SectionSaved, 409: SectionConflict, **WRITE_ERRORS},
)
def section_write(request, ref: str, key: SectionKey, payload: SectionIn):
    """Save a section's text from the version you started from (If-Match or `version`).

    When someone saved in between, the texts are merged as in the browser; a merge that is not
    clean overwrites nothing: it answers 409 with the current text, and your text is kept as a
    conflict copy on the page.
    """
    incident = editable_incident(request, ref)
    section = _section(incident, key)
    base_version = if_match_version(request, payload.version)
    result = block_change(
        kind="section",
        incident=incident,
        block=section,
        changes={"body": payload.body},
        base_version=base_version,
        user=request.user,
    )
    if result.stale:
        return Status(
            409,
            {
                "detail": f"The {section.title} section changed since version {base_version} and "
                "the texts could not be merged. Nothing was overwritten; your text is kept as a "
                "conflict copy beside the current one.",
                "current": section_out(result.current),
                "conflict_copy": result.conflict.pk if result.conflict else None,
            },
        )
    return {**section_out(Section.objects.get(pk=section.pk)), "merged": result.merged}


# Causes and whys ---------------------------------------------------------------------------


class WhyOut(Schema):
    id: int
    question: str
    answer: str
    evidence: str
    version: int


class CauseOut(Schema):
    id: int
    statement: str
    kind: str
    version: int
    whys: list[WhyOut]


def why_out(why: Why) -> dict:
    return {
        "id": why.pk,
        "question": why.question,
        "answer": why.answer,
        "evidence": why.evidence,
        "version": why.version,
    }


def cause_out(cause: Cause) -> dict:
    return {
        "id": cause.pk,
        "statement": cause.statement,
        "kind": cause.kind,
        "version": cause.version,
        "whys": [why_out(why) for why in cause.whys.all()],
    }


def _causes(incident):
    return Cause.objects.filter(postmortem__incident=incident).prefetch_related(
        Prefetch("whys", Why.objects.order_by("position", "id"))
    )


@router.get("/incidents/{ref}/causes/", response={200: list[CauseOut], **READ_ERRORS})
def cause_list(request, ref: str):
    return [cause_out(cause) for cause in _causes(incident_for(request, ref))]


class CauseIn(Schema):
    statement: str = text(2000, min_length=1)
    kind: CauseKind = "primary"


@router.post("/incidents/{ref}/causes/", response={201: CauseOut, **WRITE_ERRORS})
def cause_add(request, ref: str, payload: CauseIn):
    incident = editable_incident(request, ref)
    postmortem = incident.postmortem
    cause = block_add(
        kind="cause",
        incident=incident,
        block=Cause(postmortem=postmortem, position=next_position(postmortem.causes.all())),
        data=payload.model_dump(),
        user=request.user,
    )
    return Status(201, cause_out(_causes(incident).get(pk=cause.pk)))


class CauseChange(Schema):
    version: Version | None = None
    statement: str | None = text(2000, min_length=1, default=None)
    kind: CauseKind | None = None


class CauseConflict(Schema):
    detail: str
    current: CauseOut


def _sent(payload, request) -> tuple[dict, int]:
    sent = payload.model_dump(exclude_unset=True)
    base_version = if_match_version(request, sent.pop("version", None))
    for name, value in sent.items():
        if value is None:
            raise DjangoValidationError({name: ["This cannot be empty."]})
    return sent, base_version


@router.patch(
    "/incidents/{ref}/causes/{cause_id}/",
    response={200: CauseOut, 409: CauseConflict, **WRITE_ERRORS},
)
def cause_update(request, ref: str, cause_id: Id, payload: CauseChange):
    incident = editable_incident(request, ref)
    cause = kind_named("cause").get(incident, cause_id)
    sent, base_version = _sent(payload, request)
    result = block_change(
        kind="cause",
        incident=incident,
        block=cause,
        changes=sent,
        base_version=base_version,
        user=request.user,
    )
    current = cause_out(_causes(incident).get(pk=cause.pk))
    if result.stale:
        return Status(
            409,
            {
                "detail": f"Someone changed this cause since version {base_version}. "
                "Nothing was saved.",
                "current": current,
            },
        )
    return current


class WhyIn(Schema):
    question: str = text(500, one_line=True, min_length=1)
    answer: str = text(5000, default="")
    evidence: str = text(5000, default="")


@router.post("/incidents/{ref}/causes/{cause_id}/whys/", response={201: WhyOut, **WRITE_ERRORS})
def why_add(request, ref: str, cause_id: Id, payload: WhyIn):
    incident = editable_incident(request, ref)
    cause = kind_named("cause").get(incident, cause_id)
    why = block_add(
        kind="why",
        incident=incident,
        block=Why(cause=cause, position=next_position(cause.whys.all())),
        data=payload.model_dump(),
        user=request.user,
    )
    return Status(201, why_out(why))


class WhyChange(Schema):
    version: Version | None = None
    question: str | None = text(500, one_line=True, min_length=1, default=None)
    answer: str | None = text(5000, default=None)
    evidence: str | None = text(5000, default=None)


class WhyConflict(Schema):
    detail: str
    current: WhyOut


@router.patch(
    "/incidents/{ref}/whys/{why_id}/", response={200: WhyOut, 409: WhyConflict, **WRITE_ERRORS}
)
def why_update(request, ref: str, why_id: Id, payload: WhyChange):
    incident = editable_incident(request, ref)
    why = kind_named("why").get(incident, why_id)
    sent, base_version = _sent(payload, request)
    result = block_change(
        kind="why",
        incident=incident,
        block=why,
        changes=sent,
        base_version=base_version,
        user=request.user,
    )
    current = why_out(Why.objects.get(pk=why.pk))
    if result.stale:
        return Status(
            409,
            {
                "detail": f"Someone changed this why since version {base_version}. "
                "Nothing was saved.",
                "current": current,
            },
        )
    return current
