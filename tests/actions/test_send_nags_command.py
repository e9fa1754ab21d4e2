"""`manage.py send_nags`, the Celery task over the same function, and its daily schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from actions.models import Nag
from actions.tasks import send_nags as send_nags_task
from hindsight.celery import ZonedCrontab, app
from tests import factories
from tests.actions.conftest import MONDAY

pytestmark = pytest.mark.django_db


def command(*args) -> str:
    out = StringIO()
    with time_machine.travel(MONDAY, tick=False):
        call_command("send_nags", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_prints_who_would_get_what_and_sends_nothing(owner, teammate, incident):
    factories.action_item(
        incident, owner=owner, title="Alert on pool", due_date=MONDAY.date() - timedelta(days=2)
    )
    output = command("--dry-run")
    assert output.splitlines() == [
        "Priya Raman <priya@example.com> by e-mail:",
        f"  - {incident.ref} Alert on pool (action item overdue, 2 days)",
        "Dry run: 1 person would be reminded; nothing was sent.",
    ]
    assert mail.outbox == [] and not Nag.objects.exists()


def test_without_dry_run_it_sends(owner, incident):
    factories.action_item(incident, owner=owner, due_date=MONDAY.date() - timedelta(days=2))
    assert command().strip() == (
        "1 people reminded about 1 things; 1 messages sent, 0 failed; "
        "0 already reminded today; 0 unreachable."
    )
    assert len(mail.outbox) == 1
    assert "0 people reminded" in command()


def test_the_celery_task_is_the_same_run(owner, incident, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    factories.action_item(incident, owner=owner, due_date=MONDAY.date() - timedelta(days=2))
    with time_machine.travel(MONDAY, tick=False):
        result = send_nags_task.apply()
    assert "1 messages sent" in result.get()
    assert len(mail.outbox) == 1


def test_beat_runs_it_daily_at_the_configured_hour_and_zone(settings):
    entry = next(
        e for e in app.conf.beat_schedule.values() if e["task"] == "actions.tasks.send_nags"
    )
    schedule = entry["schedule"]
    assert isinstance(schedule, ZonedCrontab)
    assert schedule.hour == {settings.HINDSIGHT_NAG_HOUR}
    assert schedule.minute == {0}
    assert schedule.zone == settings.HINDSIGHT_NAG_TIME_ZONE


def test_the_schedule_is_read_in_its_own_zone():
    auckland = ZonedCrontab(hour=9, minute=0, zone="Pacific/Auckland")
    auckland.nowfun = lambda: datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 01:00 Tue there
    last_run = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)  # 09:00 Monday in Auckland
    due, _ = auckland.is_due(last_run)
    assert not due
    remaining = auckland.remaining_estimate(last_run)
    assert remaining == timedelta(hours=8)  # Tuesday 09:00 in Auckland is 20:00 UTC


def test_the_schedule_survives_being_pickled_by_beat():
    import pickle

    copy = pickle.loads(pickle.dumps(ZonedCrontab(hour=7, minute=0, zone="Europe/Berlin")))
    assert copy.zone == "Europe/Berlin"
    assert str(copy.tz) == "Europe/Berlin"
    assert copy.hour == {7}
