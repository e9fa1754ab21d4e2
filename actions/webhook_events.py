"""What a team's webhooks are told about its action items: closed, and overdue."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from actions.models import ActionItem, NagLine
from incidents.models import Team, TeamWebhook
from incidents.webhooks import absolute, incident_data, webhook_event_raise

CLOSED = "action_item.closed"
OVERDUE = "action_item.overdue"


def item_team(item: ActionItem) -> Team | None:
    """The team whose webhooks hear about an item: its owning team, else its incident's.

    An item of a private incident is told only to the incident's own team, who may see it.
    """
    subject = item.subject
    if subject.private:
        return subject.team
    return item.team or subject.team


def item_data(item: ActionItem, today: date | None = None) -> dict:
    return {
        "id": item.pk,
        "title": item.title,
        "status": item.status,
        "owner": item.owner.get_username() if item.owner_id else None,
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "days_overdue": item.days_overdue(today) if today else None,
        "outcome": item.outcome,
        "worth_it": item.worth_it,
        "ticket_url": item.ticket_url,
        "url": absolute(item.get_absolute_url()),
    }


def subject_data(item: ActionItem) -> dict:
    """What the item follows up: its incident, or its premortem (only its team hears it)."""
    if item.incident_id:
        return {"incident": incident_data(item.incident)}
    premortem = item.premortem
    return {
        "premortem": {
            "id": premortem.pk,
            "title": premortem.title,
            "planned_for": premortem.planned_for.isoformat(),
            "url": absolute(premortem.get_absolute_url()),
        }
    }


def item_closed_raise(item: ActionItem, *, previous_status: str) -> None:
    webhook_event_raise(
        event=CLOSED,
        team=item_team(item),
        data={
            "action_item": item_data(item),
            "previous_status": previous_status,
            **subject_data(item),
        },
    )


def items_overdue_raise(item_ids: Iterable[int], *, today: date) -> int:
    """Tell teams about items reminded of for the first time today (they just became overdue).

    Reminders go out for many items at once, so this asks first whether any team listens at
    all: with no webhook for the event it costs one query.
    """
    listening = {
        hook.team_id for hook in TeamWebhook.objects.filter(active=True) if hook.wants(OVERDUE)
    }
    if not listening:
        return 0
    reminded_before = NagLine.objects.filter(action_item_id__in=item_ids, period__lt=today)
    items = (
        ActionItem.objects.filter(pk__in=list(item_ids))
        .exclude(pk__in=reminded_before.values("action_item_id"))
        .select_related("incident__team", "incident__severity", "premortem__team", "team", "owner")
    )
    raised = 0
    for item in items:
        team = item_team(item)
        if team is None or team.pk not in listening:
            continue
        data = {"action_item": item_data(item, today), **subject_data(item)}
        webhook_event_raise(event=OVERDUE, team=team, data=data)
        raised += 1
    return raised
