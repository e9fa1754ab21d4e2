"""A fixed quarter of incidents (Q1 2026) whose figures were worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from actions.models import ActionItem
from incidents.models import Incident
from postmortems.models import Cause, CauseCategory, Postmortem, Publication
from tests import factories

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
Q1 = {"period": "quarter", "on": "2026-02-15"}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def timed(owner, *, level, start, services, team, detect=None, ack=None, mitigate=None,
          resolve=None, due=None, published=None, private=False) -> Incident:  # fmt: skip
    started = when(start)
    incident = factories.incident(
        owner=owner, level=level, started_at=started, services=services, team=team
    )
    minutes = {"detected_at": detect, "acknowledged_at": ack, "mitigated_at": mitigate,
               "resolved_at": resolve}  # fmt: skip
    Incident.objects.filter(pk=incident.pk).update(
        private=private,
        **{k: started + timedelta(minutes=m) for k, m in minutes.items() if m is not None},
    )
    if due:
        Postmortem.objects.filter(incident=incident).update(due_at=when(due))
    if published:
        Publication.objects.create(
            postmortem=incident.postmortem, number=1, published_at=when(published), content={}
        )
    incident.refresh_from_db()
    return incident


def item(incident, *, created, status=ActionItem.Status.OPEN, closed=None, due=None,
         worth_it="") -> ActionItem:  # fmt: skip
    made = factories.action_item(
        incident,
        status=status,
        due_date=when(due).date() if due else None,
        worth_it=worth_it,
        outcome="Done and checked" if status == ActionItem.Status.DONE else "",
        wont_do_reason="Replaced by the new gateway" if status == ActionItem.Status.WONT_DO else "",
    )
    ActionItem.objects.filter(pk=made.pk).update(
        created_at=when(created), closed_at=when(closed) if closed else None
    )
    return made


def categorised(incident, name: str | None, statement: str = "It broke") -> Cause:
    category = CauseCategory.objects.get(name=name) if name else None
    return Cause.objects.create(
        postmortem=incident.postmortem, statement=statement, category=category
    )


@pytest.fixture
def quarter(owner):
    team = factories.team("Payments")
    other = factories.team("Search")
    api = factories.service("api", team)
    db = factories.service("db", team)
    one = timed(owner, level=1, start="2026-01-10T10:00", services=[api], team=team, detect=10,
                ack=15, mitigate=40, resolve=60, due="2026-01-12T10:00",
                published="2026-01-11T09:00")  # fmt: skip
    two = timed(owner, level=2, start="2026-02-01T00:00", services=[api], team=team, detect=30,
                ack=40, mitigate=90, resolve=120, due="2026-02-03T00:00",
                published="2026-02-05T00:00")  # fmt: skip
    three = timed(owner, level=2, start="2026-03-01T00:00", services=[db], team=team, detect=20,
                  resolve=300, due="2026-03-03T00:00")  # fmt: skip
    four = timed(owner, level=3, start="2026-03-20T00:00", services=[db], team=team)
    before = timed(owner, level=1, start="2025-12-15T00:00", services=[api], team=team,
                   detect=50, resolve=100)  # fmt: skip
    item(one, created="2026-01-11T00:00", status="done", closed="2026-01-21T00:00", worth_it="no")
    item(one, created="2026-01-11T00:00", status="wont_do", closed="2026-01-16T00:00")
    item(one, created="2026-01-11T00:00", due="2026-04-05T00:00")
    item(two, created="2026-02-02T00:00", status="done", closed="2026-02-22T00:00", worth_it="yes")
    item(two, created="2026-02-02T00:00", due="2026-03-01T00:00")
    categorised(one, "Capacity")
    categorised(two, "Change or deploy")
    categorised(two, "Capacity")
    categorised(three, None)
    return SimpleNamespace(
        team=team, other=other, api=api, db=db, one=one, two=two, three=three, four=four,
        before=before,
    )  # fmt: skip
