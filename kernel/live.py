"""Telling every open page of a document what changed, after the change is committed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.db import connection, models, transaction

from hindsight.bus import get_bus
from kernel.kinds import BlockKind, kind_of
from kernel.text import display_name

logger = logging.getLogger(__name__)

# Pages ping a quiet stream this often, so proxies and browsers keep it open.
PING_SECONDS = 15

# Renders, once per audience, the HTML a block's events carry (registered by the app owning
# the page that shows the blocks): (kind, block, events) → fills each event in place.
EventRenderer = Callable[[BlockKind, models.Model, list[dict]], None]
_render_events: EventRenderer | None = None


def render_events_with(renderer: EventRenderer | None) -> None:
    global _render_events
    _render_events = renderer


def document_channel(incident_id: int) -> str:
    return f"incident:{incident_id}"


def block_event(kind: BlockKind, block, action: str, user, **extra) -> dict:
    """What a page is told about a changed block (a row, or one of its history rows)."""
    return {
        "type": "block",
        "kind": kind.name,
        "id": block.id,
        "version": getattr(block, "version", None),
        "action": action,
        "parent": kind.parent_id(block),
        "by": display_name(user),
        "by_id": user.pk if user else None,
        **extra,
    }


def publish_on_commit(block: models.Model, action: str, user, **extra) -> None:
    """Announce a change once its transaction commits; a rolled-back change says nothing."""
    kind = kind_of(block)
    if kind is None or not kind.editable:
        return
    event = block_event(kind, block, action, user, **extra)
    incident_id = kind.incident_id(block)
    if incident_id is None:
        channel = kind.channel(block) if kind.channel else None
        if channel:
            transaction.on_commit(lambda: get_bus().publish(channel, event))
        return
    events = [event]
    for name in kind.refreshes:
        # Not a change of that kind's blocks: "refresh" makes a page re-read their list. The
        # version names this change, so a page tells two such refreshes apart.
        refresh = {
            **event,
            "kind": name,
            "id": 0,
            "parent": None,
            "action": "refresh",
            "version": f"{kind.name}-{block.id}-{event['version']}-{action}",
        }
        events.append(refresh)
    channel = document_channel(incident_id)
    transaction.on_commit(lambda: _publish_rendered(channel, kind, block, events))


def _publish_rendered(channel: str, kind: BlockKind, block, events: list[dict]) -> None:
    """Render what the events carry, once for everyone, then publish them.

    The HTML is a convenience: if it cannot be rendered the events go without it and pages
    fetch the block themselves, as they do when polling.
    """
    if _render_events is not None:
        try:
            _render_events(kind, block, events)
        except Exception:
            logger.exception("live: could not render %s %s for its event", kind.name, block.pk)
            for event in events:
                event.pop("html", None)
                event.pop("target", None)
    bus = get_bus()
    for event in events:
        bus.publish(channel, event)


def document_event_on_commit(incident_id: int, event: dict) -> None:
    channel = document_channel(incident_id)
    transaction.on_commit(lambda: get_bus().publish(channel, event))


def sse(event: str, data: dict, event_id: str | None = None) -> str:
    """One Server-Sent Event, as the stream writes it."""
    lines = [f"event: {event}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append(f"data: {json.dumps(data)}")
    return "\n".join(lines) + "\n\n"


def release_connection() -> None:
    """Give this thread's database connection back before a long-lived stream starts.

    Django would hold it until the response ends, which for an event stream is hours. Inside a
    transaction (a test's, say) the connection is still needed and stays.
    """
    if not connection.in_atomic_block:
        connection.close()
