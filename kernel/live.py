"""Telling every open page of a document what changed, after the change is committed."""

from __future__ import annotations

import json

from django.db import connection, models, transaction

from hindsight.bus import get_bus
from kernel.kinds import BlockKind, kind_of
from kernel.text import display_name

# Pages ping a quiet stream this often, so proxies and browsers keep it open.
PING_SECONDS = 15


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
    document_event_on_commit(incident_id, event)
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
        document_event_on_commit(kind.incident_id(block), refresh)


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
