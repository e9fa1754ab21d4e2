"""An action item's ticket in its team's tracker: filed in one click, and heard back from.

1. `ticket_create` files the item in the team's tracker (title, a description linking back,
   the team's labels) and links it on the item, as a versioned change.
2. The tracker's webhook (`ticket_change_receive`) brings status back. A closed ticket does not
   close the item: closing the loop needs what changed and whether it was worth it. The ticket
   is marked closed ("waiting for the outcome" on the item) and the owner is asked by e-mail.
   A reopened ticket reopens a closed item.
3. Tickets linked by hand (an item's `ticket_url`) are recognised by their URL or key.
"""

from __future__ import annotations

import os
from datetime import date

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from actions.items import action_item_update
from actions.models import ActionItem, NagPreference, Ticket, TrackerConnection, ticket_key
from actions.webhook_events import item_team
from incidents.webhooks import absolute
from kernel import delivery as engine
from kernel.crypto import UnreadableSecret, decrypt
from kernel.models import Delivery
from kernel.text import display_name
from kernel.trackers import TicketChange, TicketDraft, TrackerAccount, TrackerError, tracker

ASK_TOPIC = "ticket_closed"


def connection_for(item: ActionItem) -> TrackerConnection | None:
    team = item_team(item)
    return TrackerConnection.objects.filter(team=team).first() if team else None


def tracker_account(connection: TrackerConnection) -> TrackerAccount:
    if connection.token_env:
        token = os.environ.get(connection.token_env, "")
        if not token:
            raise TrackerError(
                f"The environment variable {connection.token_env} holding the tracker token "
                "is not set on the server."
            )
    else:
        try:
            token = decrypt(connection.token_encrypted) if connection.token_encrypted else ""
        except UnreadableSecret:
            raise TrackerError(
                "The stored tracker token cannot be read (the encryption key changed); "
                "the team lead should enter it again."
            ) from None
        if not token:
            raise TrackerError("The team's tracker has no token; the team lead should add one.")
    return TrackerAccount(
        base_url=connection.base_url,
        project=connection.project,
        token=token,
        username=connection.username,
    )


def ticket_draft(item: ActionItem, labels: list[str]) -> TicketDraft:
    incident = item.incident
    if incident is None:
        origin = [f"Preventive action item from the premortem of “{item.premortem.title}”."]
        document = f"Premortem: {absolute(item.premortem.get_absolute_url())}"
    else:
        origin = [f"Action item from {incident.ref} {incident.title} ({incident.severity.name})."]
        document = f"Postmortem: {absolute(incident.get_absolute_url())}"
    lines = [
        *origin,
        "",
        f"In Hindsight: {absolute(item.get_absolute_url())}",
        document,
        "",
        f"Owner: {display_name(item.owner) or '—'}",
        f"Due: {item.due_date.isoformat() if item.due_date else '—'}",
        f"Priority: {item.get_priority_display()}",
        "",
        "Closing this ticket asks the owner in Hindsight what changed and whether it was "
        "worth it; the action item is done once they say.",
    ]
    return TicketDraft(title=item.title, body="\n".join(lines), labels=labels)


def ticket_create(*, item: ActionItem, user) -> Ticket:
    """File the item's ticket in its team's tracker and link it; TrackerError says why not.

    The item stays locked while the tracker answers (at most its timeout), so two clicks make
    one ticket.
    """
    with transaction.atomic():
        locked = ActionItem.objects.select_for_update().get(pk=item.pk)
        if Ticket.objects.filter(action_item=locked).exists() or locked.ticket_url:
            raise TrackerError("This action item already has a ticket.")
        connection = connection_for(locked)
        if connection is None:
            raise TrackerError("The item's team has not connected a ticket tracker.")
        kind = tracker(connection.tracker)
        if kind is None:
            raise TrackerError(f"The tracker “{connection.tracker}” is not available.")
        filed = kind.create(
            tracker_account(connection), ticket_draft(locked, connection.label_list)
        )
        ticket = Ticket.objects.create(
            action_item=locked, connection=connection, key=filed.key, url=filed.url
        )
        action_item_update(locked, base_version=locked.version, user=user, ticket_url=filed.url)
    return ticket


def _items_of(connection: TrackerConnection):
    team = connection.team
    return ActionItem.objects.filter(Q(team=team) | Q(team__isnull=True, incident__team=team))


def _find_ticket(connection: TrackerConnection, change: TicketChange) -> Ticket | None:
    ticket = (
        Ticket.objects.filter(connection=connection)
        .filter(Q(key=change.key) | Q(url=change.url))
        .select_related("action_item")
        .first()
    )
    if ticket:
        return ticket
    # Linked by hand: the item's ticket_url is the ticket's address, or names the same key.
    url = change.url.rstrip("/")
    candidates = _items_of(connection).filter(
        Q(ticket_url__in=[url, url + "/"])
        | Q(ticket_url__iendswith=f"/{change.key.split('#')[-1]}")
        | Q(ticket_url__iendswith=f"/browse/{change.key}")
    )
    for item in candidates.exclude(ticket__isnull=False):
        if item.ticket_url.rstrip("/") == url or ticket_key(item.ticket_url) == change.key:
            return Ticket.objects.create(
                action_item=item, connection=connection, key=change.key, url=item.ticket_url
            )
    return None


def ticket_change_receive(*, connection: TrackerConnection, change: TicketChange) -> str:
    """Apply what the tracker says of one ticket; returns what was done, in words."""
    with transaction.atomic():
        ticket = _find_ticket(connection, change)
        if ticket is None:
            return "no action item has this ticket"
        ticket = Ticket.objects.select_for_update().select_related("action_item").get(pk=ticket.pk)
        item = ActionItem.objects.select_for_update().get(pk=ticket.action_item_id)
        if change.closed:
            if ticket.closed_at is not None:
                return "already known to be closed"
            ticket.closed_at = timezone.now()
            ticket.save(update_fields=["closed_at"])
            if not item.is_open:
                return "ticket closed; the action item was already closed"
            ticket.asked_on = timezone.localdate()
            ticket.save(update_fields=["asked_on"])
            _ask_for_outcome(ticket, item)
            return "ticket closed; the owner is asked for the outcome"
        ticket.closed_at = ticket.asked_on = None
        ticket.save(update_fields=["closed_at", "asked_on"])
        if item.is_open:
            return "ticket reopened; the action item is still open"
        action_item_update(item, base_version=item.version, user=None, status="open")
        return "ticket reopened; the action item is open again"


def outcome_reminders(*, today: date, every_days: int) -> int:
    """Ask again, every `every_days` (or the team's "remind every"), for the outcome of items
    whose ticket is closed while they are still open. Safe to run twice: each ticket's day is
    claimed with a conditional UPDATE and only the run that changed the row sends.
    """
    waiting = Ticket.objects.filter(
        closed_at__isnull=False, action_item__status__in=ActionItem.OPEN_STATUSES
    ).select_related("action_item__owner", "action_item__incident__owner", "connection__team")
    asked = 0
    for ticket in waiting:
        team = ticket.connection.team if ticket.connection else None
        every = team.nag_every_days if team else every_days
        if ticket.asked_on is not None and (today - ticket.asked_on).days < every:
            continue
        claimed = Ticket.objects.filter(pk=ticket.pk, asked_on=ticket.asked_on).update(
            asked_on=today
        )
        if claimed == 1 and _ask_for_outcome(ticket, ticket.action_item, today=today):
            asked += 1
    return asked


def _ask_for_outcome(ticket: Ticket, item: ActionItem, *, today: date | None = None) -> bool:
    person = item.owner if item.owner and item.owner.is_active else item.subject_owner
    if person is None or not person.email:
        return False
    preference = NagPreference.objects.filter(user=person).first()
    if today and preference and preference.is_paused(today):
        return False
    engine.queue(
        [
            Delivery(
                topic=ASK_TOPIC,
                subject_id=ticket.pk,
                channel="email",
                address={"to": [person.email]},
            )
        ]
    )
    return True


def _prepare(deliveries: list[Delivery]) -> dict[int, Ticket]:
    return Ticket.objects.select_related("action_item__incident", "action_item__premortem").in_bulk(
        [d.subject_id for d in deliveries]
    )


def _compose(delivery: Delivery, tickets: dict[int, Ticket]) -> engine.Message:
    ticket = tickets[delivery.subject_id]
    item = ticket.action_item
    link = absolute(item.get_absolute_url())
    text = (
        f"The ticket {ticket.key} of your action item “{item.title}” "
        f"({item.subject_ref}) was closed.\n\n"
        "The item stays open until you say what changed and whether it was worth it:\n"
        f"{link}\n\nIf the work is not done after all, reopen the ticket."
    )
    return engine.Message(subject=f"{ticket.key} closed: what changed? ({item.title})", text=text)


ASK_FOR_OUTCOME_TOPIC = engine.Topic(
    ASK_TOPIC, "Ticket closed, asking for the outcome", compose=_compose, prepare=_prepare
)
