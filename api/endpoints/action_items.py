"""Action items across incidents: list with filters, read, and update status and outcome."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import AfterValidator, Field

from actions.forms import ActionItemUpdateForm
from actions.items import action_item_update
from actions.models import ActionItem
from api.core import (
    MAX_INT,
    Error,
    InvalidInput,
    Version,
    cursor_decode,
    cursor_encode,
    form_errors,
    if_match_version,
    require_write,
    text,
)
from incidents import policy

router = Router(tags=["action items"])
ItemStatus = Literal[tuple(ActionItem.Status.values)]
WorthIt = Literal[tuple(ActionItem.WorthIt.values)]
User = get_user_model()
READ_ERRORS = {401: Error, 404: Error, 422: InvalidInput, 429: Error}
# 400: a body that is not JSON at all.
WRITE_ERRORS = {**READ_ERRORS, 400: Error, 403: Error}
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


def _sane_day(value: date) -> date:
    if not 1970 <= value.year <= 2999:
        raise ValueError("give a day between the years 1970 and 2999")
    return value


Day = Annotated[date, AfterValidator(_sane_day)]


class PremortemRef(Schema):
    id: int
    title: str
    planned_for: str
    url: str


class ItemOut(Schema):
    id: int
    # What the item follows up: an incident (its ref), or else a premortem.
    incident: str | None
    premortem: PremortemRef | None
    title: str
    status: str
    owner: str | None
    team: str | None
    due_date: str | None
    overdue: bool
    priority: int
    kind: str
    ticket_url: str
    outcome: str
    worth_it: str
    evidence_url: str
    wont_do_reason: str
    version: int
    url: str


def item_out(item: ActionItem, today: date) -> dict:
    return {
        "id": item.pk,
        "incident": item.incident.ref if item.incident_id else None,
        "premortem": None
        if item.incident_id
        else {
            "id": item.premortem_id,
            "title": item.premortem.title,
            "planned_for": item.premortem.planned_for.isoformat(),
            "url": item.premortem.get_absolute_url(),
        },
        "title": item.title,
        "status": item.status,
        "owner": item.owner.get_username() if item.owner else None,
        "team": item.team.slug if item.team else None,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "overdue": item.is_overdue(today),
        "priority": item.priority,
        "kind": item.kind,
        "ticket_url": item.ticket_url,
        "outcome": item.outcome,
        "worth_it": item.worth_it,
        "evidence_url": item.evidence_url,
        "wont_do_reason": item.wont_do_reason,
        "version": item.version,
        "url": item.get_absolute_url(),
    }


def _items(request):
    return policy.visible_action_items(request.user, ActionItem.objects.all()).select_related(
        "incident", "premortem", "owner", "team"
    )


class ItemPage(Schema):
    items: list[ItemOut]
    next_cursor: str | None


class ItemFilters(Schema):
    owner: str | None = Field(None, max_length=150, pattern=r"^[\w.@+-]+$")
    team: str | None = Field(None, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")
    status: ItemStatus | None = None
    open: bool | None = Field(None, description="Only open (or only closed) items.")
    overdue: bool | None = Field(None, description="Only items past their due date and open.")
    incident: str | None = Field(None, max_length=20, pattern=r"^[A-Za-z]+-\d+$")
    cursor: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=200)


@router.get("/action-items/", response={200: ItemPage, **READ_ERRORS})
def item_list(request, filters: Query[ItemFilters]):
    """Action items of every incident and premortem you may see, oldest filed first (follow
    `next_cursor`)."""
    today = timezone.localdate()
    items = _items(request).order_by("id")
    if filters.owner:
        items = items.filter(owner__username=filters.owner)
    if filters.team:
        items = items.filter(team__slug=filters.team)
    if filters.status:
        items = items.filter(status=filters.status)
    if filters.open is not None:
        open_ = {"status__in": ActionItem.OPEN_STATUSES}
        items = items.filter(**open_) if filters.open else items.exclude(**open_)
    if filters.overdue is not None:
        overdue = {"status__in": ActionItem.OPEN_STATUSES, "due_date__lt": today}
        items = items.filter(**overdue) if filters.overdue else items.exclude(**overdue)
    if filters.incident:
        number = filters.incident.partition("-")[2]
        items = items.filter(incident__number=int(number[:9]))
    after = cursor_decode(filters.cursor)
    if after is not None:
        items = items.filter(pk__gt=after)
    rows = list(items[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    return {
        "items": [item_out(item, today) for item in rows],
        "next_cursor": cursor_encode(rows[-1].pk) if more else None,
    }


def _item(request, item_id: int) -> ActionItem:
    item = _items(request).filter(pk=item_id).first()
    if item is None:
        raise Http404(f"No action item {item_id} that you may see.")
    return item


@router.get("/action-items/{item_id}/", response={200: ItemOut, **READ_ERRORS})
def item_read(request, item_id: Id):
    return item_out(_item(request, item_id), timezone.localdate())


class ItemChange(Schema):
    """Only the fields you send change. Done needs an outcome, worth_it and an evidence link
    (the change that shows it: pull request, runbook, alert, dashboard); won't do a reason."""

    version: Version | None = None
    status: ItemStatus | None = None
    owner: str | None = Field(None, max_length=150, pattern=r"^[\w.@+-]*$")
    due_date: Day | None = None
    outcome: str | None = text(5000, default=None)
    worth_it: WorthIt | None = None
    evidence_url: str | None = Field(None, max_length=500, pattern=r"^https?://\S+$")
    wont_do_reason: str | None = text(2000, default=None)


class ItemConflict(Schema):
    detail: str
    current: ItemOut


@router.patch(
    "/action-items/{item_id}/", response={200: ItemOut, 409: ItemConflict, **WRITE_ERRORS}
)
def item_update(request, item_id: Id, payload: ItemChange):
    """Update status and outcome as the quick update on the review page does."""
    require_write(request)
    item = _item(request, item_id)
    if not policy.can_edit_action_item(request.user, item):
        raise HttpError(403, f"You may read {item.subject_ref} but not edit its action items.")
    sent = payload.model_dump(exclude_unset=True)
    base_version = if_match_version(request, sent.pop("version", None))
    if "status" in sent and sent["status"] is None:
        raise DjangoValidationError({"status": ["Give a status."]})
    if "owner" in sent and sent["owner"]:
        owner = User.objects.filter(username=sent["owner"], is_active=True).first()
        if owner is None:
            raise DjangoValidationError({"owner": [f"No person {sent['owner']!r}."]})
        sent["owner"] = owner.pk
    form = ActionItemUpdateForm(instance=item)
    data = {
        name: getattr(form.initial.get(name), "pk", form.initial.get(name)) for name in form.fields
    }
    data.update({name: "" if value is None else value for name, value in sent.items()})
    data["base_version"] = base_version
    bound = ActionItemUpdateForm(data, instance=_item(request, item_id))
    if not bound.is_valid():
        raise form_errors(bound)
    result = action_item_update(
        item,
        base_version=base_version,
        user=request.user,
        **{name: value for name, value in bound.cleaned_data.items() if name in sent},
    )
    current = item_out(_item(request, item_id), timezone.localdate())
    if result.stale:
        return Status(
            409,
            {
                "detail": f"Someone changed this item since version {base_version}. "
                "Nothing was saved.",
                "current": current,
            },
        )
    return current
