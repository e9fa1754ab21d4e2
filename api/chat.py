"""Adding chosen chat messages to an incident's timeline, each message once."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from api.models import ChatImport
from incidents.chat_import import ChatLine
from incidents.models import Incident, TimelineEntry
from kernel.blocks import block_create

ENTRY_MAX = 5000


def imported_keys(incident: Incident, lines: list[ChatLine]) -> set[str]:
    keys = [line.key for line in lines]
    return set(
        ChatImport.objects.filter(incident=incident, key__in=keys).values_list("key", flat=True)
    )


def chat_lines_import(*, incident: Incident, lines: list[ChatLine], user) -> int:
    """Add each line as a timeline entry (source chat); a line imported before is skipped.

    The marker row goes in first: two imports of the same chat at once meet at its unique
    constraint, and only one of them adds the entry.
    """
    added = 0
    for line in lines:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    marker = ChatImport.objects.create(
                        incident=incident, key=line.key, imported_by=user
                    )
            except IntegrityError:
                continue
            entry = block_create(
                block=TimelineEntry(
                    incident=incident,
                    occurred_at=line.when,
                    kind=TimelineEntry.Kind.NOTE,
                    text=line.entry_text[:ENTRY_MAX],
                    added_by=user,
                    source=TimelineEntry.Source.CHAT,
                ),
                user=user,
            )
            marker.entry = entry
            marker.save(update_fields=["entry"])
        added += 1
    return added
