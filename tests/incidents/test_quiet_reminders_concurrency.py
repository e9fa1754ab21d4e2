"""Two reminder runs at the same moment on PostgreSQL: each quiet interval reminds once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection

from incidents import quiet
from incidents.models import QuietReminder
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
INCIDENTS = 12


def test_two_runs_at_once_remind_each_quiet_interval_exactly_once(owner, slack_server):
    team = factories.team("Platform", slack_webhook_url=slack_server.url)
    severity = factories.severity(1)
    severity.status_update_every_minutes = 30
    severity.save()
    with time_machine.travel(START, tick=False):
        incidents = [
            factories.incident(owner=owner, level=1, started_at=START, team=team)
            for _ in range(INCIDENTS)
        ]

    # Both runs work out every incident's state before either inserts its row: the worst case
    # for two workers started together, which only the unique constraint can settle.
    both_decided = threading.Barrier(2, timeout=30)
    real_state = quiet.quiet_state

    def decide_then_wait(*args, **kwargs):
        state = real_state(*args, **kwargs)
        both_decided.wait()
        return state

    results, errors = [], []

    def run():
        try:
            results.append(quiet.send_quiet_reminders())
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    for minutes in (30, 31, 60):
        with (
            time_machine.travel(START + timedelta(minutes=minutes), tick=False),
            mock.patch.object(quiet, "quiet_state", side_effect=decide_then_wait),
        ):
            threads = [threading.Thread(target=run) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)

    assert errors == []
    assert sum(len(sent) for sent in results) == 2 * INCIDENTS
    assert QuietReminder.objects.count() == 2 * INCIDENTS
    assert Counter(QuietReminder.objects.values_list("interval_number", flat=True)) == {
        1: INCIDENTS,
        2: INCIDENTS,
    }
    subjects = Counter(message.subject for message in mail.outbox)
    assert len(subjects) == 2 * INCIDENTS and set(subjects.values()) == {1}
    assert len(slack_server.payloads()) == 2 * INCIDENTS
    assert {incident.pk for incident in incidents} == set(
        QuietReminder.objects.values_list("incident", flat=True)
    )
