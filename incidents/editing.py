"""Changing an incident's details and its timeline entries, one version at a time."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from incidents.models import Incident, TimelineEntry
from incidents.webhooks import incident_data, webhook_event_raise
from kernel.blocks import SaveResult, block_save

INCIDENT_FIELDS = (
    "title",
    "severity",
    "status",
    "started_at",
    "detected_at",
    "mitigated_at",
    "resolved_at",
    "owner",
    "team",
    "customer_facing",
    "near_miss",
    "private",
)
TIMELINE_ENTRY_FIELDS = ("occurred_at", "kind", "text")


def incident_update(
    incident: Incident,
    *,
    base_version: int,
    user,
    responders: Iterable | None = None,
    services: Iterable | None = None,
    viewers: Iterable | None = None,
    **changes,
) -> SaveResult:
    m2m = {
        name: values
        for name, values in (
            ("responders", responders),
            ("services", services),
            ("viewers", viewers),
        )
        if values is not None
    }
    with transaction.atomic():
        # Locked first, so the status read here is the one this save replaces.
        before = Incident.objects.select_for_update().values("status").get(pk=incident.pk)
        result = block_save(
            block=incident,
            changes=changes,
            base_version=base_version,
            user=user,
            fields=INCIDENT_FIELDS,
            m2m=m2m,
        )
        after = result.block
        if result.saved and after.status != before["status"]:
            webhook_event_raise(
                event="incident.status_changed",
                team=after.team,
                data={"incident": incident_data(after), "previous_status": before["status"]},
            )
    return result


def timeline_entry_update(
    entry: TimelineEntry, *, base_version: int, user, **changes
) -> SaveResult:
    return block_save(
        block=entry,
        changes=changes,
        base_version=base_version,
        user=user,
        fields=TIMELINE_ENTRY_FIELDS,
    )
