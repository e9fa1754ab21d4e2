"""Action items as blocks of the postmortem document, registered with the kernel."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from actions.forms import (
    ActionItemForm,
    AttendeeForm,
    DecisionForm,
    DissentForm,
    MeetingForm,
    NewActionItemForm,
    NewAttendeeForm,
    NewDecisionForm,
    NewDissentForm,
)
from actions.items import action_item_update
from actions.meetings import dissent_update, meeting_update
from actions.models import (
    ActionItem,
    MeetingAttendee,
    MeetingDecision,
    MeetingDissent,
    ReviewMeeting,
)
from kernel.blocks import updater
from kernel.kinds import (
    LIST_ITEM,
    BlockKind,
    Searchable,
    described,
    next_position,
    register,
    table_row,
)
from kernel.text import display_name
from premortems.live import premortem_channel


def _new_action(incident, request):
    return ActionItem(
        incident=incident,
        created_by=request.user,
        position=next_position(incident.action_items.all()),
    )


def _cause_stamp(cause_id: int | None, cause_version: int | None) -> str:
    return f"{cause_id}.{cause_version}" if cause_id else ""


ACTION = BlockKind(
    name="action",
    model=ActionItem,
    label="Action item",
    template="postmortems/document.html",
    partial="action",
    blocks=lambda incident: incident.action_items.select_related("owner", "cause"),
    incident_id=lambda item: item.incident_id,
    channel=lambda item: premortem_channel(item.premortem_id) if item.premortem_id else None,
    history=lambda incident: ActionItem.history.filter(incident_id=incident.pk),
    tracked_fields=(
        "title",
        "owner_id",
        "team_id",
        "due_date",
        "priority",
        "kind",
        "status",
        "cause_id",
        "ticket_url",
        "impact",
        "effort",
        "wont_do_reason",
        "outcome",
        "worth_it",
        "evidence_url",
        "recheck_on",
    ),
    describe=lambda record: described("Action item", record.title),
    form=ActionItemForm,
    update=action_item_update,
    new_form=NewActionItemForm,
    new_block=_new_action,
    list_partial="actions",
    siblings=lambda item: ActionItem.objects.filter(incident=item.incident_id),
    deletable=True,
    # An item shows the statement of the cause it addresses.
    fragment_stamp=lambda item: _cause_stamp(item.cause_id, item.cause_id and item.cause.version),
    document_list="action_items",
    document_rows=lambda incident: list(incident.action_items.all()),
    light_rows=lambda incident: [
        (pk, version, _cause_stamp(cause_id, cause_version))
        for pk, version, cause_id, cause_version in incident.action_items.values_list(
            "pk", "version", "cause_id", "cause__version"
        )
    ],
    document_path="action_items",
    prefetch=(
        Prefetch("action_items", ActionItem.objects.select_related("owner", "cause")),
        # What the causes section shows of each cause's coverage; the causes are prefetched
        # by their own kind, registered first.
        Prefetch(
            "postmortem__causes__action_items",
            ActionItem.objects.only("pk", "cause_id", "title", "status"),
        ),
    ),
    form_holder=table_row(5),
    # The causes section says which action items cover each cause.
    refreshes=("cause",),
    search=Searchable(incident="incident", heading=("title",), body=("outcome", "wont_do_reason")),
)


def action_items_addressing(cause) -> list[str]:
    """A cause is addressed by its action items, except those the team decided not to do:
    not acting is then a decision, to be recorded as an accepted risk."""
    return [
        f"Action item: {item.title}"
        for item in cause.action_items.all()
        if item.status != ActionItem.Status.WONT_DO
    ]


def register_action_kinds() -> None:
    register(ACTION)


# The review meeting's records: its timer and schedule, who came, what was decided, dissent.
MEETING_PAGE = "actions/meeting.html"


def _meetings(incident):
    """An incident's meetings with what their page lists, in a fixed number of queries."""
    return incident.review_meetings.prefetch_related(
        Prefetch("attendance", MeetingAttendee.objects.select_related("user")),
        Prefetch("decisions", MeetingDecision.objects.select_related("recorded_by")),
        Prefetch("dissents", MeetingDissent.objects.select_related("author", "written_by")),
    )


def _meeting_ids(incident):
    return ReviewMeeting.history.filter(incident_id=incident.pk).values("id")


def _meeting_of(incident, request) -> ReviewMeeting:
    raw = request.POST.get("meeting") or request.GET.get("meeting") or ""
    if not raw.isdigit() or len(raw) > 12:
        raw = "0"
    return get_object_or_404(ReviewMeeting, pk=raw, incident=incident)


def _new_attendee(incident, request):
    meeting = _meeting_of(incident, request)
    return MeetingAttendee(meeting=meeting, position=next_position(meeting.attendance.all()))


def _new_decision(incident, request):
    meeting = _meeting_of(incident, request)
    return MeetingDecision(
        meeting=meeting,
        recorded_by=request.user,
        position=next_position(meeting.decisions.all()),
    )


def _new_dissent(incident, request):
    meeting = _meeting_of(incident, request)
    # Most often someone writes down their own view: theirs unless they pick someone else.
    return MeetingDissent(
        meeting=meeting,
        author=request.user,
        written_by=request.user,
        position=next_position(meeting.dissents.all()),
    )


MEETING = BlockKind(
    name="meeting",
    model=ReviewMeeting,
    label="Review meeting",
    template=MEETING_PAGE,
    partial="timer",
    blocks=_meetings,
    incident_id=lambda meeting: meeting.incident_id,
    history=lambda incident: ReviewMeeting.history.filter(incident_id=incident.pk),
    tracked_fields=(
        "scheduled_at",
        "location",
        "held_on",
        "part",
        "part_started_at",
        "part_seconds",
        "started_at",
        "ended_at",
    ),
    describe=lambda record: "Review meeting",
    form=MeetingForm,
    update=meeting_update,
)

ATTENDEE = BlockKind(
    name="attendee",
    model=MeetingAttendee,
    label="Attendee",
    template=MEETING_PAGE,
    partial="attendee",
    blocks=lambda incident: MeetingAttendee.objects.filter(
        meeting__incident=incident
    ).select_related("user"),
    incident_id=lambda row: row.meeting.incident_id,
    history=lambda incident: MeetingAttendee.history.filter(meeting_id__in=_meeting_ids(incident)),
    tracked_fields=("user_id", "presence"),
    describe=lambda record: described("Attendance", display_name(record.user)),
    form=AttendeeForm,
    update=updater(("presence",)),
    new_form=NewAttendeeForm,
    new_block=_new_attendee,
    list_partial="attendance",
    parent="meeting",
    parent_field="meeting_id",
    deletable=True,
    form_holder=LIST_ITEM,
)

DECISION = BlockKind(
    name="decision",
    model=MeetingDecision,
    label="Decision",
    template=MEETING_PAGE,
    partial="decision",
    blocks=lambda incident: MeetingDecision.objects.filter(meeting__incident=incident),
    incident_id=lambda decision: decision.meeting.incident_id,
    history=lambda incident: MeetingDecision.history.filter(meeting_id__in=_meeting_ids(incident)),
    tracked_fields=("text",),
    describe=lambda record: described("Decision", record.text),
    form=DecisionForm,
    update=updater(("text",)),
    new_form=NewDecisionForm,
    new_block=_new_decision,
    list_partial="decisions",
    parent="meeting",
    parent_field="meeting_id",
    siblings=lambda decision: MeetingDecision.objects.filter(meeting=decision.meeting_id),
    deletable=True,
    form_holder=LIST_ITEM,
    prose_fields=("text",),
    names_expected=lambda decision: False,
)

DISSENT = BlockKind(
    name="dissent",
    model=MeetingDissent,
    label="Dissenting view",
    template=MEETING_PAGE,
    partial="dissent",
    blocks=lambda incident: MeetingDissent.objects.filter(
        meeting__incident=incident
    ).select_related("author", "written_by"),
    incident_id=lambda dissent: dissent.meeting.incident_id,
    history=lambda incident: MeetingDissent.history.filter(meeting_id__in=_meeting_ids(incident)),
    tracked_fields=("author_id", "text", "consented_at"),
    describe=lambda record: described("Dissent", record.text),
    form=DissentForm,
    update=dissent_update,
    new_form=NewDissentForm,
    new_block=_new_dissent,
    list_partial="dissents",
    parent="meeting",
    parent_field="meeting_id",
    deletable=True,
    form_holder=LIST_ITEM,
    prose_fields=("text",),
    names_expected=lambda dissent: False,
)


def register_meeting_kinds() -> None:
    for kind in (MEETING, ATTENDEE, DECISION, DISSENT):
        register(kind)
