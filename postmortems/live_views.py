"""The live side of the document page: its event stream, polling, presence, autosave."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, timedelta

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from hindsight.bus import LOST, PRESENCE_TTL_SECONDS, BusUnavailable, MissedTooMuch, get_bus
from incidents.policy import can_view, require_edit
from kernel.forms import MAX_VERSION
from kernel.history import history_sources
from kernel.kinds import kind_named
from kernel.limits import (
    Refused,
    held_while_streaming,
    presence_lease,
    presence_lease_end,
    user_stream_lease,
)
from kernel.live import PING_SECONDS, block_event, document_channel, release_connection, sse
from kernel.merge import edits_between
from kernel.text import display_name, initials
from postmortems.document import document_for, incident_for
from postmortems.editing import section_update
from postmortems.live_html import reader_audience, sse_for
from postmortems.models import ConflictCopy
from postmortems.views import editable_kind, list_response

logger = logging.getLogger(__name__)
POLL_OVERLAP = timedelta(seconds=5)
HISTORY_ACTIONS = {"+": "created", "-": "deleted"}
GONE = {"reason": "You no longer have access to this incident."}


def _incident_id_for(user, ref: str) -> int:
    """Look the incident up, then give the connection back: a stream may stay open for hours."""
    try:
        return incident_for(user, ref).pk
    finally:
        release_connection()


def _still_visible(user, incident_id: int) -> bool:
    """Asked again whenever who is on the incident may have changed; the connection goes back."""
    from incidents.models import Incident

    try:
        incident = Incident.objects.select_related("team").filter(pk=incident_id).first()
        return incident is not None and can_view(user, incident)
    finally:
        release_connection()


def _may_change_access(event: dict) -> bool:
    """Events after which a stream asks again whether its person may still see the incident.

    Not the header read again because a timeline entry changed (its picture marks them): that
    changes nobody's access, and asking on every one of them costs each open stream two queries
    per entry saved, and a catch-up two per entry missed.
    """
    if event.get("type") == "access":
        return True
    return event.get("kind") == "incident" and event.get("action") != "refresh"


@require_GET
async def document_events(request, ref: str):
    """Server-Sent Events for one document: catch-up after Last-Event-ID, then live events."""
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse(status=401)
    # Access first: whoever may not see the incident learns nothing, not even the server kind.
    incident_id = await sync_to_async(_incident_id_for)(user, ref)
    if not isinstance(request, ASGIRequest):
        # A WSGI server would have to buffer an endless stream: let the page poll instead.
        return HttpResponse("Live updates need the ASGI server; the page polls.", status=503)
    lease = await sync_to_async(user_stream_lease)(user)
    if isinstance(lease, Refused):
        return lease.response()
    channel = document_channel(incident_id)
    audience = await sync_to_async(reader_audience)(user, incident_id)
    bus = get_bus()
    last_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or ""
    try:
        subscription = await bus.subscribe(channel)
    except BusUnavailable as error:
        logger.warning("event stream for %s unavailable: %s", ref, error)
        await sync_to_async(lease.give_back)()
        return HttpResponse("Live updates are unavailable; the page polls instead.", status=503)

    async def may_still_see() -> bool:
        """Asked again when who may see or edit may have changed; the HTML sent follows."""
        nonlocal audience
        if not await sync_to_async(_still_visible)(user, incident_id):
            return False
        audience = await sync_to_async(reader_audience)(user, incident_id)
        return True

    async def caught_up_events():
        """What the page missed since its last event, read from the bus as it is sent."""
        if last_id:
            async with contextlib.aclosing(bus.replay(channel, last_id)) as missed:
                async for event in missed:
                    yield event

    async def stream():
        # The subscription began before the catch-up, so it may hold events the catch-up sent.
        caught_up_to = ""
        try:
            yield "retry: 3000\n\n"
            caught_up = 0
            try:
                async with contextlib.aclosing(caught_up_events()) as missed:
                    async for event in missed:
                        caught_up_to = event.id
                        if _may_change_access(event.data) and not await may_still_see():
                            yield sse("gone", GONE)
                            return
                        if event.data.get("type") != "access":
                            yield sse_for("change", event, audience)
                            caught_up += 1
            except MissedTooMuch:
                yield sse("reset", {"reason": "missed too much"})
            yield sse("ready", {"caught_up": caught_up})
            while True:
                item = await subscription.get(PING_SECONDS)
                if item is LOST:
                    return  # the page reconnects, or falls back to polling
                if item is not None and caught_up_to and not bus.follows(item.id, caught_up_to):
                    continue  # sent by the catch-up already
                # Access removed (a header change, a team change, an account switched off):
                # the stream ends at once rather than at its next reconnect.
                recheck = item is None or _may_change_access(item.data)
                if recheck and not await may_still_see():
                    yield sse("gone", GONE)
                    return
                if item is None:
                    yield ": ping\n\n"
                elif item.data.get("type") != "access":
                    name = "presence" if item.data.get("type") == "presence" else "change"
                    yield sse_for(name, item, audience)
        except BusUnavailable as error:
            logger.warning("event stream for %s lost the bus while catching up: %s", ref, error)
        except asyncio.CancelledError:
            raise  # the page went away
        finally:
            subscription.close()

    response = StreamingHttpResponse(
        held_while_streaming(stream(), lease), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"
    return response


@require_GET
def document_changes(request, ref: str):
    """What changed since a moment, from the history tables: the polling fallback."""
    incident = incident_for(request.user, ref)
    now = timezone.now()
    try:
        since = _since(request.GET.get("since", ""), now)
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    changes = []
    for name, queryset in history_sources(incident).items():
        kind = kind_named(name)
        if not kind.editable:
            continue
        rows = queryset.filter(history_date__gt=since - POLL_OVERLAP).select_related("history_user")
        for row in rows.order_by("history_date")[:200]:
            action = HISTORY_ACTIONS.get(row.history_type, "saved")
            changes.append(
                block_event(kind, row, action, row.history_user, at=row.history_date.isoformat())
            )
    changes.sort(key=lambda change: change["at"])
    return JsonResponse({"now": now.isoformat(), "changes": changes})


def _since(value: str, now):
    """The moment a poll asks from: now when not given; a ValueError in words when impossible."""
    if not value:
        return now
    try:
        since = parse_datetime(value)
    except ValueError:
        since = None  # well formed but no such moment (month 13, hour 25)
    if since is None:
        raise ValueError("“since” must be a date and time like 2026-01-31T09:30:00Z.")
    if timezone.is_naive(since):
        since = timezone.make_aware(since, UTC)
    if not (now - timedelta(days=365 * 100) <= since <= now + POLL_OVERLAP):
        raise ValueError("“since” must be a moment in the last hundred years, not the future.")
    return since


@require_POST
def presence_beat(request, ref: str):
    """A page says it is still open, and which block (if any) its person is editing."""
    incident = incident_for(request.user, ref)
    channel = document_channel(incident.pk)
    tab = request.POST.get("tab", "")[:40]
    editing = request.POST.get("editing", "")[:60]
    member = f"{request.user.pk}:{tab}"
    refused = presence_lease(request.user, channel=channel, tab=tab, seconds=PRESENCE_TTL_SECONDS)
    if refused is not None:
        return refused.json_response()
    bus = get_bus()
    data = {
        "user_id": request.user.pk,
        "name": display_name(request.user),
        "initials": initials(request.user),
        "editing": editing,
    }
    if bus.presence_beat(channel, member, data):
        bus.publish(channel, {"type": "presence", "people": bus.presence_list(channel)})
    return JsonResponse({"people": bus.presence_list(channel)})


@require_POST
def presence_leave(request, ref: str):
    incident = incident_for(request.user, ref)
    channel = document_channel(incident.pk)
    bus = get_bus()
    tab = request.POST.get("tab", "")[:40]
    bus.presence_leave(channel, f"{request.user.pk}:{tab}")
    presence_lease_end(request.user, channel=channel, tab=tab)
    bus.publish(channel, {"type": "presence", "people": bus.presence_list(channel)})
    return HttpResponse(status=204)


@require_POST
def block_autosave(request, ref: str, kind: str, pk: int):
    """Save a block's text as it is typed; merge with saves made in between, or keep a copy."""
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    kind_ = editable_kind(kind)
    if kind_.autosave_field is None:
        raise Http404("Blocks of this kind are saved with their form")
    block = kind_.get(incident, pk)
    field = kind_.autosave_field
    text = request.POST.get(field)
    try:
        base_version = int(request.POST.get("base_version", ""))
    except ValueError:
        base_version = None
    if text is None or base_version is None:
        return JsonResponse({"error": "The save carried no text or no version."}, status=400)
    if not 1 <= base_version <= MAX_VERSION:
        return JsonResponse({"error": "The save carried a version no text can have."}, status=400)
    if "\x00" in text:
        return JsonResponse(
            {"error": "The text holds a NUL character, which cannot be saved; remove it."},
            status=400,
        )
    limit = kind_.model._meta.get_field(field).max_length
    if limit and len(text) > limit:
        # Nothing is saved, so nothing is cut: the page keeps the whole text in its draft and
        # says how much has to go.
        return JsonResponse(
            {
                "error": f"Not saved: this holds at most {limit:,} characters and the text has "
                f"{len(text):,}. Shorten it by {len(text) - limit:,}; your text is kept here "
                "until you do.",
                "limit": limit,
                "length": len(text),
            },
            status=422,
        )
    result = kind_.update(block, base_version=base_version, user=request.user, **{field: text})
    if result.saved:
        saved_text = getattr(result.block, field)
        # How the saved text differs from what was sent, so the editor can keep its caret.
        edits = [[e.start, e.end, e.text] for e in edits_between(text, saved_text)]
        return JsonResponse(
            {
                "status": "saved",
                "merged": result.merged,
                "edits": edits,
                "version": result.block.version,
                "text": saved_text,
            }
        )
    current = result.current
    last = current.history.select_related("history_user").order_by("-history_id").first()
    return JsonResponse(
        {
            "status": "conflict",
            "conflict": result.conflict.pk if result.conflict else None,
            "theirs": getattr(current, field),
            "by": display_name(last.history_user) if last else "",
            "mine": text,
            "version": current.version,
        },
        status=409,
    )


@require_POST
def conflict_resolve(request, ref: str, pk: int):
    """Keep mine, keep theirs, or edit both: the choice offered beside a conflict copy."""
    incident = incident_for(request.user, ref)
    require_edit(request.user, incident)
    try:
        copy = ConflictCopy.objects.select_related("section").get(
            pk=pk, section__postmortem__incident=incident
        )
    except ConflictCopy.DoesNotExist:
        raise Http404("No such conflict copy") from None
    choice = request.POST.get("choice")
    if choice not in ConflictCopy.Resolution.values:
        return JsonResponse({"error": "Choose mine, theirs or both."}, status=400)
    section = copy.section
    text = section.body
    if choice == ConflictCopy.Resolution.MINE:
        result = section_update(
            section, base_version=section.version, user=request.user, body=copy.text
        )
        section = result.block
        text = section.body
    elif choice == ConflictCopy.Resolution.BOTH:
        text = f"{section.body.rstrip()}\n\n{copy.text.strip()}\n"
    copy.resolve(choice=choice, user=request.user)
    return JsonResponse(
        {"status": "resolved", "choice": choice, "version": section.version, "text": text}
    )


@require_GET
def block_list(request, ref: str, kind: str):
    """A list of blocks as the document page shows it, for pages refreshing after a change."""
    kind_ = editable_kind(kind)
    if kind_.list_partial is None:
        raise Http404("No such list")
    parent_id = None
    if kind_.parent:
        raw = request.GET.get(kind_.parent, "")
        if not raw.isdigit() or len(raw) > 12:
            raise Http404("No such list")
        parent_id = int(raw)
    return list_response(request, document_for(request.user, ref), kind_, parent_id)
