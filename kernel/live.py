"""Telling every open page of a document what changed, after the change is committed."""

from __future__ import annotations

from django.db import connection, models, transaction

from actions.models import ActionItem
from hindsight.bus import get_bus
from incidents.models import Incident, TimelineEntry
from postmortems.models import Cause, Section, Why

KIND_OF_MODEL: dict[type[models.Model], str] = {
    Incident: "incident",
    Section: "section",
    TimelineEntry: "entry",
    Cause: "cause",
    Why: "why",
    ActionItem: "action",
}


def document_channel(incident_id: int) -> str:
    return f"incident:{incident_id}"


def incident_id_of(block: models.Model) -> int:
    if isinstance(block, Incident):
        return block.pk
    if isinstance(block, Section | Cause):
        return block.postmortem.incident_id
    if isinstance(block, Why):
        return block.cause.postmortem.incident_id
    return block.incident_id


def block_event(block: models.Model, action: str, user, **extra) -> dict:
    return {
        "type": "block",
        "kind": KIND_OF_MODEL[type(block)],
        "id": block.pk,
        "version": getattr(block, "version", None),
        "action": action,
        "parent": block.cause_id if isinstance(block, Why) else None,
        "by": (user.get_full_name() or user.get_username()) if user else "",
        "by_id": user.pk if user else None,
        **extra,
    }


def publish_on_commit(block: models.Model, action: str, user, **extra) -> None:
    """Announce a change once its transaction commits; a rolled-back change says nothing."""
    if type(block) not in KIND_OF_MODEL:
        return
    document_event_on_commit(incident_id_of(block), block_event(block, action, user, **extra))


def document_event_on_commit(incident_id: int, event: dict) -> None:
    channel = document_channel(incident_id)
    transaction.on_commit(lambda: get_bus().publish(channel, event))


def release_connection() -> None:
    """Give this thread's database connection back before a long-lived stream starts.

    Django would hold it until the response ends, which for an event stream is hours. Inside a
    transaction (a test's, say) the connection is still needed and stays.
    """
    if not connection.in_atomic_block:
        connection.close()
