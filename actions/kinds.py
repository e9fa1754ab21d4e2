"""Action items as blocks of the postmortem document, registered with the kernel."""

from __future__ import annotations

from django.db.models import Prefetch

from actions.forms import ActionItemForm, NewActionItemForm
from actions.items import action_item_update
from actions.models import ActionItem
from kernel.kinds import BlockKind, described, next_position, register


def _new_action(incident, request):
    return ActionItem(
        incident=incident,
        created_by=request.user,
        position=next_position(incident.action_items.all()),
    )


ACTION = BlockKind(
    name="action",
    model=ActionItem,
    label="Action item",
    template="postmortems/document.html",
    partial="action",
    blocks=lambda incident: incident.action_items.select_related("owner", "cause"),
    incident_id=lambda item: item.incident_id,
    history=lambda incident: ActionItem.history.filter(incident_id=incident.pk),
    tracked_fields=(
        "title",
        "owner_id",
        "team_id",
        "due_date",
        "priority",
        "kind",
        "status",
        "cause_id",
        "ticket_url",
        "impact",
        "effort",
        "wont_do_reason",
        "outcome",
        "worth_it",
        "evidence_url",
        "recheck_on",
    ),
    describe=lambda record: described("Action item", record.title),
    form=ActionItemForm,
    update=action_item_update,
    new_form=NewActionItemForm,
    new_block=_new_action,
    list_partial="actions",
    siblings=lambda item: ActionItem.objects.filter(incident=item.incident_id),
    deletable=True,
    # An item shows the statement of the cause it addresses.
    fragment_stamp=lambda item: f"{item.cause_id}.{item.cause.version}" if item.cause_id else "",
    document_list="action_items",
    document_rows=lambda incident: list(incident.action_items.all()),
    prefetch=(
        Prefetch("action_items", ActionItem.objects.select_related("owner", "cause")),
        # What the causes section shows of each cause's coverage; the causes are prefetched
        # by their own kind, registered first.
        Prefetch(
            "postmortem__causes__action_items",
            ActionItem.objects.only("pk", "cause_id", "title", "status"),
        ),
    ),
    form_row_colspan=5,
    # The causes section says which action items cover each cause.
    refreshes=("cause",),
)


def action_items_addressing(cause) -> list[str]:
    """A cause is addressed by its action items, except those the team decided not to do:
    not acting is then a decision, to be recorded as an accepted risk."""
    return [
        f"Action item: {item.title}"
        for item in cause.action_items.all()
        if item.status != ActionItem.Status.WONT_DO
    ]


def register_action_kinds() -> None:
    register(ACTION)
