"""The kinds of block a document page edits in place, and how each is found and added."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Max
from django.shortcuts import get_object_or_404

from actions.forms import ActionItemForm, NewActionItemForm
from actions.models import ActionItem
from incidents.forms import IncidentHeaderForm, NewTimelineEntryForm, TimelineEntryForm
from incidents.models import Incident, TimelineEntry
from postmortems.forms import CauseForm, NewCauseForm, NewWhyForm, SectionForm, WhyForm
from postmortems.models import Cause, Section, Why
from postmortems.outlines import postmortem_sync_due


@dataclass(frozen=True)
class BlockKind:
    name: str
    model: type[models.Model]
    form: type
    partial: str
    queryset: Callable[[Incident], models.QuerySet]
    # Adding, moving and deleting: only for kinds that have a list to refresh afterwards.
    new_form: type | None = None
    new_block: Callable | None = None
    list_partial: str | None = None
    siblings: Callable[[models.Model], models.QuerySet] | None = None
    deletable: bool = False
    m2m_fields: tuple[str, ...] = ()
    # Text fields merged three ways when someone saved in between; see postmortems.merge.
    merge_fields: tuple[str, ...] = ()
    after_save: Callable[[models.Model], None] | None = None

    @property
    def movable(self) -> bool:
        return self.siblings is not None

    def get(self, incident: Incident, pk: int) -> models.Model:
        return get_object_or_404(self.queryset(incident), pk=pk)

    def list_owner(self, block: models.Model) -> models.Model | None:
        """The block whose partial holds the list, when the list lives inside another block."""
        return block.cause if isinstance(block, Why) else None


def next_position(queryset: models.QuerySet) -> int:
    top = queryset.aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def _new_cause(incident, request):
    postmortem = incident.postmortem
    return Cause(postmortem=postmortem, position=next_position(postmortem.causes.all()))


def _new_why(incident, request):
    cause_id = request.POST.get("cause") or request.GET.get("cause")
    cause = get_object_or_404(Cause, pk=cause_id or 0, postmortem__incident=incident)
    return Why(cause=cause, position=next_position(cause.whys.all()))


def _new_action(incident, request):
    return ActionItem(
        incident=incident,
        created_by=request.user,
        position=next_position(incident.action_items.all()),
    )


KINDS: dict[str, BlockKind] = {
    kind.name: kind
    for kind in (
        BlockKind(
            name="incident",
            model=Incident,
            form=IncidentHeaderForm,
            partial="header",
            queryset=lambda incident: Incident.objects.filter(pk=incident.pk),
            m2m_fields=("responders", "services", "viewers"),
            after_save=postmortem_sync_due,
        ),
        BlockKind(
            name="section",
            model=Section,
            form=SectionForm,
            partial="section",
            queryset=lambda incident: Section.objects.filter(postmortem__incident=incident),
            merge_fields=("body",),
        ),
        BlockKind(
            name="entry",
            model=TimelineEntry,
            form=TimelineEntryForm,
            partial="entry",
            queryset=lambda incident: incident.timeline.select_related("added_by"),
            new_form=NewTimelineEntryForm,
            new_block=lambda incident, request: TimelineEntry(
                incident=incident, added_by=request.user
            ),
            list_partial="timeline",
            deletable=True,
        ),
        BlockKind(
            name="cause",
            model=Cause,
            form=CauseForm,
            partial="cause",
            queryset=lambda incident: Cause.objects.filter(postmortem__incident=incident),
            new_form=NewCauseForm,
            new_block=_new_cause,
            list_partial="causes",
            siblings=lambda cause: Cause.objects.filter(postmortem=cause.postmortem_id),
            deletable=True,
        ),
        BlockKind(
            name="why",
            model=Why,
            form=WhyForm,
            partial="why",
            queryset=lambda incident: Why.objects.filter(cause__postmortem__incident=incident),
            new_form=NewWhyForm,
            new_block=_new_why,
            list_partial="cause",
            siblings=lambda why: Why.objects.filter(cause=why.cause_id),
            deletable=True,
        ),
        BlockKind(
            name="action",
            model=ActionItem,
            form=ActionItemForm,
            partial="action",
            queryset=lambda incident: incident.action_items.select_related("owner", "cause"),
            new_form=NewActionItemForm,
            new_block=_new_action,
            list_partial="actions",
            siblings=lambda item: ActionItem.objects.filter(incident=item.incident_id),
            deletable=True,
        ),
    )
}
