"""The demo premortem: a planned database upgrade, its reasons revealed, grouped and voted on,
and the two groups with most votes filed as preventive action items.

Called by `seed_demo`; does nothing when the premortem exists already.
"""

from __future__ import annotations

from datetime import timedelta

from actions.preventive import preventive_item_create
from premortems.models import Premortem
from premortems.rounds import group_create, phase_advance, premortem_create, reason_add, vote_toggle

TITLE = "Upgrade the payments database to PostgreSQL 17"
DESCRIPTION = (
    "On Saturday night the payments database moves to PostgreSQL 17: logical replication to the "
    "new cluster during the week, a five-minute write freeze, the switch of the connection "
    "string, then the old primary kept read-only for a week."
)
# Who wrote what; reasons in one group say the same thing in different words.
GROUPS = [
    (
        "Replication falls behind and the switch loses writes",
        [
            ("priya", "Replication lag grows under Friday's batch jobs and we switch anyway."),
            ("marcus", "Writes during the freeze window are lost because a service ignores it."),
            ("sam", "We cut over before the new cluster has caught up."),
        ],
    ),
    (
        "Nobody has rehearsed the rollback",
        [
            ("demo", "The rollback plan was never tried; at 02:00 nobody knows the steps."),
            ("marcus", "Going back needs the old primary writable, and it is read-only by then."),
        ],
    ),
    (
        "Query plans change and checkout slows down",
        [
            ("sam", "A planner change makes the refunds report scan the whole table."),
            ("priya", "Checkout p99 doubles because an index is not used any more."),
        ],
    ),
    (
        "The connection pool keeps the old address",
        [("marcus", "PgBouncer caches the old DNS name and keeps writing to the old primary.")],
    ),
]
VOTES = {
    "demo": [0, 1, 2],
    "priya": [0, 1, 3],
    "marcus": [0, 1, 2],
    "sam": [0, 2, 3],
}
ITEMS = [
    (0, "Gate the switch on replication lag under 1 second for 10 minutes", "priya", 3),
    (1, "Rehearse the rollback on staging with a timed runbook", "marcus", 5),
]


def seed_premortem(people: dict, teams: dict, now) -> Premortem | None:
    if Premortem.objects.filter(title=TITLE).exists():
        return None
    facilitator = people["demo"]
    premortem = premortem_create(
        user=facilitator,
        facilitator=facilitator,
        participants=[people[name] for name in ("priya", "marcus", "sam")],
        title=TITLE,
        description=DESCRIPTION,
        planned_for=now.date() + timedelta(days=10),
        team=teams["payments"],
        writing_minutes=10,
        votes_per_person=3,
    )
    written = []
    for _, reasons in GROUPS:
        written.append(
            [reason_add(premortem=premortem, user=people[who], text=text) for who, text in reasons]
        )
    phase_advance(premortem=premortem, user=facilitator, to="revealed")
    phase_advance(premortem=premortem, user=facilitator, to="grouping")
    groups = []
    for (title, _), reasons in zip(GROUPS, written, strict=True):
        if len(reasons) > 1:
            groups.append(
                group_create(
                    premortem=premortem,
                    user=facilitator,
                    reasons=[r.pk for r in reasons],
                    title=title,
                )
            )
        else:
            groups.append(None)
    phase_advance(premortem=premortem, user=facilitator, to="voting")
    for index, reason in enumerate(written):
        if groups[index] is None:
            reason[0].refresh_from_db()
            groups[index] = reason[0].group
    for who, picks in VOTES.items():
        for index in picks:
            vote_toggle(premortem=premortem, user=people[who], group=groups[index])
    phase_advance(premortem=premortem, user=facilitator, to="done")
    premortem.refresh_from_db()
    for index, title, owner, days in ITEMS:
        preventive_item_create(
            premortem=premortem,
            group=groups[index],
            user=facilitator,
            title=title,
            owner=people[owner],
            due_date=now.date() + timedelta(days=days),
        )
    return premortem
