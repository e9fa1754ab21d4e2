"""The review meeting page (laptop, phone and projector), scheduling, the timer, consent.

Decisions, dissent and attendance are blocks of the document: they are added, edited and
deleted through the document's block views, and reach every open page through its events.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from actions.forms import MeetingScheduleForm, TimerForm
from actions.meetings import (
    AGENDA,
    PLANNED_MINUTES,
    MeetingRefusal,
    dissent_consent,
    meeting_schedule,
    meeting_timer,
    when_in_words,
)
from actions.models import MeetingDissent, ReviewMeeting
from hindsight.bus import get_bus
from incidents.policy import can_edit, require_edit
from kernel.forms import MAX_VERSION
from kernel.kinds import kind_named
from kernel.live import document_channel
from kernel.text import display_name
from postmortems.document import document_context, document_for, incident_for

MEETING_PAGE = "actions/meeting.html"
STALE_TIMER = "Someone else pressed first; this is the timer as it is now."


def _meeting(incident, pk: int) -> ReviewMeeting:
    return get_object_or_404(ReviewMeeting, pk=pk, incident=incident)


def _page(request, ref: str, pk: int, *, projector: bool):
    # The event position first, as on the document page: nothing saved after it is missed.
    last_event_id = get_bus().last_id(document_channel(incident_for(request.user, ref).pk))
    incident = document_for(request.user, ref)
    meeting = kind_named("meeting").get(incident, pk)
    context = document_context(incident)
    context.update(
        meeting=meeting,
        last_event_id=last_event_id,
        may_edit=can_edit(request.user, incident),
        projector=projector,
        agenda_parts=AGENDA,
        planned_minutes=PLANNED_MINUTES,
    )
    return render(request, MEETING_PAGE, context)


@require_GET
def meeting_page(request, ref: str, pk: int):
    return _page(request, ref, pk, projector=False)


@require_GET
def meeting_projector(request, ref: str, pk: int):
    """Large type, high contrast, one part of the agenda at a time: for the shared screen."""
    return _page(request, ref, pk, projector=True)


def _timer(request, incident, meeting, *, status=200, notice=""):
    context = {"incident": incident, "block": meeting, "kind": kind_named("meeting")}
    context["notice"] = notice
    return render(request, f"{MEETING_PAGE}#timer", context, status=status)


@require_POST
def meeting_timer_press(request, ref: str, pk: int):
    """Start, pause, next part, back, end: from the version the screen showed."""
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    meeting = _meeting(incident, pk)
    form = TimerForm(request.POST)
    if not form.is_valid():
        words = " ".join(message for errors in form.errors.values() for message in errors)
        return HttpResponse(words, status=400, content_type="text/plain; charset=utf-8")
    try:
        result = meeting_timer(
            meeting=meeting,
            action=form.cleaned_data["action"],
            base_version=form.cleaned_data["base_version"],
            user=request.user,
        )
    except MeetingRefusal as refusal:
        return _timer(request, incident, meeting, status=409, notice=str(refusal))
    if result.stale:
        return _timer(request, incident, result.current, status=409, notice=STALE_TIMER)
    if not request.htmx:
        return redirect("meeting", ref=incident.ref, pk=meeting.pk)
    return _timer(request, incident, result.block)


@require_POST
def dissent_consent_press(request, ref: str, pk: int):
    """Its author confirms a dissent written for them says what they think."""
    incident = incident_for(request.user, ref)
    dissent = get_object_or_404(
        MeetingDissent.objects.select_related("author", "written_by"),
        pk=pk,
        meeting__incident=incident,
    )
    if dissent.author_id != request.user.pk:
        return HttpResponse(
            f"Only {display_name(dissent.author)} can confirm this view as theirs.",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    raw = request.POST.get("base_version", "")
    if not raw.isdigit() or not 1 <= int(raw[:12]) <= MAX_VERSION:
        return HttpResponse(
            "The form is missing the version it was shown at: reload the page.", status=400
        )
    result = dissent_consent(dissent=dissent, base_version=int(raw), user=request.user)
    kind = kind_named("dissent")
    context = {"incident": incident, "kind": kind}
    if result.stale:
        context.update(
            block=result.current,
            notice="The text changed since you read it: read it again before confirming.",
        )
        return render(request, f"{MEETING_PAGE}#dissent", context, status=409)
    if not request.htmx:
        return redirect("meeting", ref=incident.ref, pk=dissent.meeting_id)
    context["block"] = kind.get(incident, dissent.pk)
    return render(request, f"{MEETING_PAGE}#dissent", context)


def _invited_by_default(incident) -> list[int]:
    people = [incident.owner_id, *incident.responders.values_list("pk", flat=True)]
    return [pk for pk in dict.fromkeys(people) if pk]


@require_http_methods(["GET", "POST"])
def meeting_schedule_page(request, ref: str):
    """Schedule the review meeting: a time, a place, who comes; each gets an invitation."""
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    form = MeetingScheduleForm(
        request.POST if request.method == "POST" else None,
        instance=ReviewMeeting(incident=incident),
        initial={"attendees": _invited_by_default(incident)},
    )
    if request.method == "POST" and form.is_valid():
        meeting = meeting_schedule(
            incident=incident,
            scheduled_at=form.cleaned_data["scheduled_at"],
            location=form.cleaned_data["location"],
            attendees=list(form.cleaned_data["attendees"]),
            user=request.user,
        )
        invited = len(form.cleaned_data["attendees"])
        messages.success(
            request,
            f"Review meeting scheduled for {when_in_words(meeting.scheduled_at)}; "
            f"{invited} {'person is' if invited == 1 else 'people are'} invited by e-mail.",
        )
        return redirect("meeting", ref=incident.ref, pk=meeting.pk)
    status = 422 if form.is_bound else 200
    context = {"incident": incident, "form": form, "planned_minutes": PLANNED_MINUTES}
    return render(request, "actions/meeting_schedule.html", context, status=status)
