"""The page a stakeholder link opens: no account, read-only, one postmortem and nothing else.

Nothing here sets a cookie, starts a session or accepts a POST; a link grants no access beyond
these two read-only responses.
"""

from __future__ import annotations

from functools import wraps

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from hindsight.bus import LOST, BusUnavailable, get_bus
from kernel.limits import Refused, held_while_streaming, link_stream_lease
from kernel.live import PING_SECONDS, document_channel, release_connection
from postmortems.publishing.reader import with_image_sources
from postmortems.share_links import (
    share_link_for_token,
    share_link_record_view,
    stakeholder_view,
)

PAGE = "postmortems/stakeholder.html"


def reader_headers(view):
    """Keep the page out of search engines, shared caches and other sites' referrer logs."""

    @wraps(view)
    def wrapped(request, *args, **kwargs) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
        response["Referrer-Policy"] = "no-referrer"
        response["Cache-Control"] = "private, no-store"
        return response

    return wrapped


def _gone(request, *, partial: bool) -> HttpResponse:
    return render(request, f"{PAGE}#gone" if partial else PAGE, {}, status=404)


def _context(token: str, view) -> dict:
    document = view.document
    if document is not None:
        # Images come through the link itself, which checks the page shows them.
        document = with_image_sources(
            document, lambda image: reverse("stakeholder-image", args=[token, image["id"]])
        )
    return {
        "token": token,
        "view": view,
        "document": document,
        "names_hidden": view.link.hide_names,
        "refresh_seconds": settings.HINDSIGHT_READER_REFRESH_SECONDS,
    }


@login_not_required
@reader_headers
@require_GET
def stakeholder(request, token: str):
    link = share_link_for_token(token)
    if link is None:
        return _gone(request, partial=False)
    view = stakeholder_view(link)
    share_link_record_view(link)
    return render(request, PAGE, _context(token, view))


@login_not_required
@reader_headers
@require_GET
def stakeholder_content(request, token: str):
    """The page's content, polled by the open page: 204 when nothing changed, 404 once revoked."""
    link = share_link_for_token(token)
    if link is None:
        return _gone(request, partial=True)
    view = stakeholder_view(link)
    if request.GET.get("seen") == view.fingerprint:
        return HttpResponse(status=204)
    return render(request, f"{PAGE}#content", _context(token, view))


def _usable_link(token: str) -> tuple[int, bool, int] | None:
    """The incident a usable link shows, whether it shares the draft and the link's id, or None
    once it is unusable; the connection goes back at once."""
    try:
        link = share_link_for_token(token)
        return (link.postmortem.incident_id, link.share_draft, link.pk) if link else None
    finally:
        release_connection()


def _heard_by(event: dict, *, share_draft: bool) -> bool:
    """What a reader's stream passes on: never presence (who has the document open); for a
    link to the published version, only publications and status changes, never draft work."""
    kind = event.get("type")
    if kind in ("presence", "access", "share-link"):
        return False
    return share_draft or kind == "publication"


@login_not_required
async def stakeholder_events(request, token: str):
    """A read-only event stream: "something changed" and nothing more, no names, no details.

    The link is checked again on every event and every ping, so a revoked or expired link
    closes its open streams too (at once on revocation, which is announced on the channel).
    """
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    usable = await sync_to_async(_usable_link)(token)
    if usable is None or not isinstance(request, ASGIRequest):
        return _gone(request, partial=True) if usable is None else HttpResponse(status=503)
    incident_id, share_draft, link_id = usable
    # One link is one holder, however many people (or scripts) open it.
    lease = await sync_to_async(link_stream_lease)(link_id)
    if isinstance(lease, Refused):
        return lease.response()
    try:
        subscription = await get_bus().subscribe(document_channel(incident_id))
    except BusUnavailable:
        await sync_to_async(lease.give_back)()
        return HttpResponse(status=503)

    async def stream():
        try:
            yield "retry: 5000\n\nevent: ready\ndata: {}\n\n"
            while True:
                item = await subscription.get(PING_SECONDS)
                if item is LOST:
                    return
                if await sync_to_async(_usable_link)(token) is None:
                    yield "event: gone\ndata: {}\n\n"
                    return
                if item is None:
                    yield ": ping\n\n"
                elif _heard_by(item.data, share_draft=share_draft):
                    yield "event: change\ndata: {}\n\n"
        finally:
            subscription.close()

    response = StreamingHttpResponse(
        held_while_streaming(stream(), lease), content_type="text/event-stream"
    )
    response["X-Accel-Buffering"] = "no"
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response
