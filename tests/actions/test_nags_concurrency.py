"""Two reminder runs at the same moment on PostgreSQL: each person still hears once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection

from actions import nags
from actions.models import Nag, NagLine
from actions.nags import NagConfig, send_nags
from kernel.models import Delivery
from tests import factories
from tests.actions.conftest import MONDAY, people

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 40


def test_two_runs_deciding_at_once_remind_each_person_exactly_once(team, slack_server):
    team.slack_webhook_url = slack_server.url
    team.save()
    everyone = people(PEOPLE)
    incident = factories.incident(owner=everyone[0], team=team)
    for person in everyone:
        for n in range(3):
            factories.action_item(
                incident,
                owner=person,
                title=f"Item {n}",
                due_date=MONDAY.date() - timedelta(days=2),
            )

    # Both runs read the same overdue items before either writes anything: the worst case
    # for two workers started together, which only the unique constraint can settle.
    both_decided = threading.Barrier(2, timeout=30)
    real_digests = nags._digests

    def decide_then_wait(**kwargs):
        decided = list(real_digests(**kwargs))
        both_decided.wait()
        return iter(decided)

    reports, errors = [], []

    def run():
        try:
            config = NagConfig.from_settings(retry_seconds=0, batch_size=7)
            reports.append(send_nags(config=config))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    with (
        time_machine.travel(MONDAY, tick=False),
        mock.patch.object(nags, "_digests", side_effect=decide_then_wait),
    ):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert errors == []
    assert len(reports) == 2
    assert sum(r.reminded for r in reports) == PEOPLE
    assert sum(r.already_reminded for r in reports) == PEOPLE
    assert sum(r.sent for r in reports) == 2 * PEOPLE
    assert Counter(a for m in mail.outbox for a in m.to) == {p.email: 1 for p in everyone}
    slack_people = Counter(p["text"].split("*")[1] for p in slack_server.payloads())
    assert len(slack_people) == PEOPLE and set(slack_people.values()) == {1}
    assert Nag.objects.count() == PEOPLE
    assert NagLine.objects.count() == 3 * PEOPLE
    assert set(Delivery.objects.values_list("status", "attempts")) == {("sent", 1)}
