"""Changing one action item outside the document page, and reading its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import transaction

from actions.models import ActionItem
from actions.webhook_events import item_closed_raise
from kernel.blocks import SaveResult, block_save
from kernel.history import FieldChange, ValueFormatter

# The fields an item's history page compares, in the order it shows them.
HISTORY_FIELDS = (
    "title",
    "status",
    "owner_id",
    "team_id",
    "due_date",
    "priority",
    "kind",
    "cause_id",
    "ticket_url",
    "impact",
    "effort",
    "wont_do_reason",
    "outcome",
    "worth_it",
    "evidence_url",
    "recheck_on",
    "rechecked_on",
    "recheck_note",
    "snooze_reason",
)


# What a person may change on an action item, on the document page, its own page or the review.
ACTION_ITEM_FIELDS = (
    "title",
    "owner",
    "team",
    "due_date",
    "priority",
    "kind",
    "status",
    "cause",
    "ticket_url",
    "impact",
    "effort",
    "wont_do_reason",
    "outcome",
    "worth_it",
    "evidence_url",
    "recheck_on",
)
SNOOZE_FIELDS = ("due_date", "snooze_reason", "snooze_count")
RECHECK_FIELDS = ("status", "rechecked_on", "recheck_note")


def action_item_update(item: ActionItem, *, base_version: int, user, **changes) -> SaveResult:
    with transaction.atomic():
        # Locked first, so the status read here is the one this save replaces.
        before = ActionItem.objects.select_for_update().values("status").get(pk=item.pk)
        result = block_save(
            block=item,
            changes=changes,
            base_version=base_version,
            user=user,
            fields=ACTION_ITEM_FIELDS,
        )
        after = result.block
        was_open = before["status"] in ActionItem.OPEN_STATUSES
        if result.saved and was_open and not after.is_open:
            item_closed_raise(after, previous_status=before["status"])
    return result


def action_item_snooze(
    *, item: ActionItem, until: date, reason: str, base_version: int, user
) -> SaveResult:
    """Move the due date with a reason, as one versioned change; reminders wait for the date."""
    return block_save(
        block=item,
        changes={"due_date": until, "snooze_reason": reason, "snooze_count": item.snooze_count + 1},
        base_version=base_version,
        user=user,
        fields=SNOOZE_FIELDS,
    )


def action_item_recheck(
    *, item: ActionItem, still_working: bool, note: str, today: date, base_version: int, user
) -> SaveResult:
    """Record the answer to "is it still working?" on a done item, as one versioned change.

    Still working: the re-check is recorded and the item leaves the review until its next
    re-check date. Not working: the item is reopened, so it is reminded about and reviewed
    like any open work, with the note saying why in its history.
    """
    changes = {"rechecked_on": today, "recheck_note": note}
    if not still_working:
        changes["status"] = ActionItem.Status.IN_PROGRESS
    return block_save(
        block=item, changes=changes, base_version=base_version, user=user, fields=RECHECK_FIELDS
    )


@dataclass
class ItemChange:
    record: object
    action: str
    fields: list[FieldChange]

    @property
    def when(self):
        return self.record.history_date

    @property
    def who(self):
        return self.record.history_user


def action_item_history(item: ActionItem) -> list[ItemChange]:
    """Every saved version of the item, newest first, each compared with the one before."""
    records = list(item.history.select_related("history_user").order_by("history_id"))
    show = ValueFormatter()
    changes: list[ItemChange] = []
    before = None
    for record in records:
        fields = []
        for name in HISTORY_FIELDS:
            old = show(ActionItem, name, getattr(before, name)) if before else ""
            new = show(ActionItem, name, getattr(record, name))
            if old != new:
                fields.append(FieldChange(show.label(ActionItem, name), old, new))
        if record.history_type == "+":
            action = "created"
        elif record.history_type == "-":
            action = "deleted"
        elif before is not None and record.snooze_count > before.snooze_count:
            action = "snoozed"
        elif before is not None and record.rechecked_on != before.rechecked_on:
            action = "re-checked"
        else:
            action = "changed"
        changes.append(ItemChange(record, action, fields))
        before = record
    return list(reversed(changes))
