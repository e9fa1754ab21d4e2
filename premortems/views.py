"""The premortem pages: the list, a new premortem, one premortem's board, its live stream and
its history.

Every view finds the premortem through `incidents.policy.visible_team_records` (a private one
is a 404 to whoever may not see it) and reads reasons through `premortems.rounds.reasons_for`
(before the reveal, a person's own reasons only).
"""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hindsight.bus import LOST, BusUnavailable, get_bus
from incidents.policy import (
    can_facilitate,
    can_open_incident,
    can_take_part,
    can_view_team_record,
    visible_team_records,
)
from kernel.live import PING_SECONDS, release_connection, sse
from premortems.forms import ExtendForm, GroupForm, PhaseForm, PremortemForm, ReasonForm
from premortems.history import premortem_history
from premortems.live import premortem_channel
from premortems.models import Premortem
from premortems.rounds import (
    RoundRefused,
    group_create,
    group_dissolve,
    participant_join,
    phase_advance,
    premortem_create,
    ranked_groups,
    reason_add,
    reason_counts,
    reason_delete,
    reasons_for,
    vote_toggle,
    votes_left,
    writing_extend,
)

logger = logging.getLogger(__name__)
PAGE = "premortems/premortem.html"


def _visible(user):
    return visible_team_records(user, Premortem.objects.select_related("team", "facilitator"))


def _premortem(user, pk: int) -> Premortem:
    return get_object_or_404(_visible(user), pk=pk)


def board_context(premortem: Premortem, user) -> dict:
    """Everything the board shows, for this person: before the reveal, their reasons only."""
    reasons = list(reasons_for(premortem, user))
    written, writers = reason_counts(premortem)
    participants = list(premortem.participants.order_by("first_name", "username"))
    return {
        "premortem": premortem,
        "phase": premortem.phase,
        "Phase": Premortem.Phase,
        "reasons": reasons,
        "ungrouped": [r for r in reasons if r.group_id is None],
        "written": written,
        "writers": writers,
        "participants": participants,
        "is_participant": any(p.pk == user.pk for p in participants),
        "ranked": ranked_groups(premortem, user),
        "votes_left": votes_left(premortem, user),
        "may_facilitate": can_facilitate(user, premortem),
        "may_take_part": can_take_part(user, premortem),
        "writing_open": premortem.writing_open(),
        "next_phase": premortem.next_phase(),
    }


def _page(request, premortem: Premortem, *, status: int = 200, **extra):
    context = board_context(premortem, request.user)
    context.setdefault("reason_form", ReasonForm())
    context.update(extra)
    return render(request, PAGE, context, status=status)


def _refused(request, premortem: Premortem, error: RoundRefused):
    return _page(request, premortem, status=409, refusal=str(error))


@require_GET
def premortem_list(request):
    premortems = list(_visible(request.user).order_by("-created_at")[:200])
    return render(
        request,
        "premortems/list.html",
        {"premortems": premortems, "may_start": can_open_incident(request.user)},
    )


@require_http_methods(["GET", "POST"])
def premortem_new(request):
    if not can_open_incident(request.user):
        raise PermissionDenied("A read-only account cannot start a premortem.")
    form = PremortemForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "participants"}
        premortem = premortem_create(
            user=request.user,
            facilitator=request.user,
            participants=form.cleaned_data["participants"],
            **fields,
        )
        messages.success(request, "Premortem started: the time for writing runs now.")
        return redirect(premortem)
    status = 422 if request.method == "POST" else 200
    return render(request, "premortems/new.html", {"form": form}, status=status)


@require_GET
def premortem_page(request, premortem: int):
    return _page(request, _premortem(request.user, premortem))


@require_GET
def premortem_board(request, premortem: int):
    """The board alone, as this person may see it: what open pages fetch after an event."""
    found = _premortem(request.user, premortem)
    response = render(request, f"{PAGE}#board", board_context(found, request.user))
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def premortem_join(request, premortem: int):
    found = _premortem(request.user, premortem)
    participant_join(premortem=found, user=request.user)
    return redirect(found)


@require_POST
def reason_new(request, premortem: int):
    found = _premortem(request.user, premortem)
    if not can_take_part(request.user, found):
        raise PermissionDenied("You can read this premortem but not take part in it.")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _page(request, found, status=422, reason_form=form)
    try:
        reason_add(premortem=found, user=request.user, text=form.cleaned_data["text"])
    except RoundRefused as error:
        return _page(request, found, status=409, refusal=str(error), reason_form=form)
    messages.success(request, "Reason written. Only you see it until the reveal.")
    return redirect(f"{found.get_absolute_url()}#write")


@require_POST
def reason_remove(request, premortem: int, reason: int):
    found = _premortem(request.user, premortem)
    if not can_take_part(request.user, found):
        raise PermissionDenied("You can read this premortem but not take part in it.")
    # One's own reasons only: anyone else's is not there to be named.
    mine = get_object_or_404(found.reasons.filter(author=request.user), pk=reason)
    try:
        reason_delete(premortem=found, user=request.user, reason=mine)
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(f"{found.get_absolute_url()}#write")


@require_POST
def premortem_phase(request, premortem: int):
    found = _premortem(request.user, premortem)
    if not can_facilitate(request.user, found):
        raise PermissionDenied("Only the facilitator, the lead of its team and admins may do this.")
    form = PhaseForm(request.POST)
    if not form.is_valid():
        return _page(request, found, status=422, refusal="Say which phase comes next.")
    try:
        phase_advance(premortem=found, user=request.user, to=form.cleaned_data["to"])
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(found)


@require_POST
def premortem_extend(request, premortem: int):
    found = _premortem(request.user, premortem)
    if not can_facilitate(request.user, found):
        raise PermissionDenied("Only the facilitator, the lead of its team and admins may do this.")
    form = ExtendForm(request.POST)
    if not form.is_valid():
        return _page(request, found, status=422, refusal="Add between 1 and 60 minutes.")
    try:
        writing_extend(premortem=found, user=request.user, minutes=form.cleaned_data["minutes"])
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(found)


@require_POST
def group_new(request, premortem: int):
    found = _premortem(request.user, premortem)
    if not can_take_part(request.user, found):
        raise PermissionDenied("You can read this premortem but not take part in it.")
    if found.phase != Premortem.Phase.GROUPING:
        return _refused(request, found, RoundRefused("Reasons are grouped in the grouping phase."))
    form = GroupForm(request.POST, reasons=found.reasons.all())
    if not form.is_valid():
        return _page(request, found, status=422, group_form=form)
    try:
        group_create(
            premortem=found,
            user=request.user,
            reasons=form.cleaned_data["reasons"],
            title=form.cleaned_data["title"],
        )
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(f"{found.get_absolute_url()}#groups")


@require_POST
def group_remove(request, premortem: int, group: int):
    found = _premortem(request.user, premortem)
    if not can_take_part(request.user, found):
        raise PermissionDenied("You can read this premortem but not take part in it.")
    chosen = get_object_or_404(found.groups, pk=group)
    try:
        group_dissolve(premortem=found, user=request.user, group=chosen)
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(f"{found.get_absolute_url()}#groups")


@require_POST
def group_vote(request, premortem: int, group: int):
    found = _premortem(request.user, premortem)
    if not can_take_part(request.user, found):
        raise PermissionDenied("You can read this premortem but not take part in it.")
    chosen = get_object_or_404(found.groups, pk=group)
    try:
        vote_toggle(premortem=found, user=request.user, group=chosen)
    except RoundRefused as error:
        return _refused(request, found, error)
    return redirect(f"{found.get_absolute_url()}#group-{chosen.pk}")


@require_GET
def premortem_history_page(request, premortem: int):
    found = _premortem(request.user, premortem)
    return render(
        request,
        "premortems/history.html",
        {"premortem": found, "changes": premortem_history(found, request.user)},
    )


# The live stream ---------------------------------------------------------------------------


def _premortem_id_for(user, pk: int) -> int:
    try:
        return _premortem(user, pk).pk
    finally:
        release_connection()


def _still_visible(user, pk: int) -> bool:
    try:
        found = Premortem.objects.select_related("team").filter(pk=pk).first()
        return found is not None and can_view_team_record(user, found)
    finally:
        release_connection()


@require_GET
async def premortem_events(request, premortem: int):
    """Server-Sent Events for one premortem: counts and phases, never a reason's text."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    premortem_id = await sync_to_async(_premortem_id_for)(user, premortem)
    if not isinstance(request, ASGIRequest):
        return HttpResponse("Live updates need the ASGI server; the page polls.", status=503)
    channel = premortem_channel(premortem_id)
    try:
        subscription = await get_bus().subscribe(channel)
    except BusUnavailable as error:
        logger.warning("premortem stream %s unavailable: %s", premortem_id, error)
        return HttpResponse("Live updates are unavailable; the page polls instead.", status=503)

    async def stream():
        try:
            yield "retry: 3000\n\n"
            # Whatever was missed, the board is read again whole: one event says so.
            yield sse("ready", {"at": timezone.now().isoformat()})
            while True:
                item = await subscription.get(PING_SECONDS)
                if item is LOST:
                    return
                if item is None:
                    if not await sync_to_async(_still_visible)(user, premortem_id):
                        yield sse("gone", {"reason": "You no longer have access."})
                        return
                    yield ": ping\n\n"
                    continue
                yield item.encoded(
                    "change", lambda event: sse("change", event.data, event.id).encode()
                )
        except asyncio.CancelledError:
            raise
        finally:
            subscription.close()

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"
    return response
