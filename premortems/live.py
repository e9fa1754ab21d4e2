"""Telling every open page of a premortem that something changed, after it is committed.

An event says what kind of change it was and the counts anyone may know; never the text of a
reason, which before the reveal only its author may read. Each page then asks for its own view
of the board, which the server renders for that person.
"""

from __future__ import annotations

from django.db import transaction

from hindsight.bus import get_bus
from kernel.text import display_name


def premortem_channel(premortem_id: int) -> str:
    return f"premortem:{premortem_id}"


def premortem_event_on_commit(premortem, what: str, user) -> None:
    """Announce a change of `what` (reason, reveal, phase, group, vote, item, join)."""
    from premortems.rounds import reason_counts

    reasons, people = reason_counts(premortem)
    event = {
        "type": "premortem",
        "what": what,
        "phase": premortem.phase,
        "reasons": reasons,
        "writers": people,
        "by": display_name(user),
    }
    channel = premortem_channel(premortem.pk)
    transaction.on_commit(lambda: get_bus().publish(channel, event))
