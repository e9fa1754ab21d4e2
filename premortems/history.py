"""What happened in a premortem, newest first, from its history tables.

A reason's text is shown only where `reasons_for` would show it: once revealed, or to its
author. Before the reveal anyone else reads that someone wrote a reason, never what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kernel.text import display_name, shorten
from premortems.models import Premortem, Reason, ReasonGroup, Vote

LIMIT = 300
ACTIONS = {"+": "added", "~": "changed", "-": "removed"}


@dataclass
class Change:
    when: datetime
    who: str
    what: str


def _who(record) -> str:
    return display_name(record.history_user) if record.history_user else "Hindsight"


def premortem_history(premortem: Premortem, user) -> list[Change]:
    changes: list[Change] = []
    previous = None
    for record in premortem.history.select_related("history_user").order_by("history_id"):
        if previous is None:
            what = "started the premortem"
        elif record.phase != previous.phase:
            what = f"moved it to {Premortem.Phase(record.phase).label.lower()}"
        elif record.writing_ends_at != previous.writing_ends_at:
            what = "gave more time to write"
        else:
            what = "changed its details"
        changes.append(Change(record.history_date, _who(record), what))
        previous = record
    revealed = premortem.revealed
    reasons = Reason.history.filter(premortem_id=premortem.pk).select_related("history_user")
    for record in reasons.order_by("history_id")[:LIMIT]:
        shown = revealed or record.author_id == user.pk
        if record.history_type == "~":
            if not revealed:
                continue
            what = "grouped a reason" if record.group_id else "took a reason out of its group"
        else:
            what = "wrote a reason" if record.history_type == "+" else "took back a reason"
        if shown:
            what += f": “{shorten(record.text, 120)}”"
        changes.append(Change(record.history_date, _who(record), what))
    groups = ReasonGroup.history.filter(premortem_id=premortem.pk).select_related("history_user")
    for record in groups.order_by("history_id")[:LIMIT]:
        what = f"{ACTIONS[record.history_type]} the group “{shorten(record.title, 80)}”"
        changes.append(Change(record.history_date, _who(record), what))
    titles = {g.pk: g.title for g in premortem.groups.all()}
    votes = Vote.history.filter(group_id__in=titles).select_related("history_user")
    for record in votes.order_by("history_id")[:LIMIT]:
        verb = "voted for" if record.history_type == "+" else "took back a vote for"
        what = f"{verb} “{shorten(titles.get(record.group_id, ''), 80)}”"
        changes.append(Change(record.history_date, _who(record), what))
    changes.sort(key=lambda change: change.when, reverse=True)
    return changes[:LIMIT]
