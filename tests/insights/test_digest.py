"""The quarterly review e-mailed to team leads, once per team and quarter."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from incidents.models import Incident, Team
from insights.digest import send_quarterly_digests
from kernel import delivery as engine
from kernel.models import Delivery
from tests import factories
from tests.insights.conftest import NOW, timed

APRIL = date(2026, 4, 1)


@pytest.fixture
def leads(quarter, owner):
    lead = factories.user("lena", first_name="Lena")
    Team.objects.filter(pk=quarter.team.pk).update(lead=lead)
    Team.objects.filter(pk=quarter.other.pk).update(lead=factories.user("sam", email=""))
    return lead


def queue(today=APRIL, **options) -> list:
    with time_machine.travel(NOW, tick=False):
        return send_quarterly_digests(today, **options)


def deliver() -> list:
    with time_machine.travel(NOW, tick=False):
        engine.deliver_due()
    return mail.outbox


def test_each_lead_gets_their_teams_quarter(leads):
    with time_machine.travel(NOW, tick=False):
        queued = send_quarterly_digests(APRIL)
    assert [d.recipient for d in queued] == ["lena@example.com"]  # Sam has no address
    assert mail.outbox == []  # queued, not sent from the run itself
    (delivery,) = Delivery.objects.filter(topic="quarterly-review")
    assert delivery.channel == "email" and delivery.address == {"to": ["lena@example.com"]}
    (message,) = deliver()
    assert message.subject == "Q1 2026 review for Payments: 4 incidents"
    assert "Hello Lena," in message.body
    assert "  SEV2: 2" in message.body
    assert "  Time to resolve: 2h 00m · 5h 00m · 3 · — · — · 1h 40m" in message.body
    assert 'Answered "was it worth it?" with no: 1 · 50% of 2 answers' in message.body
    assert "/insights/?period=quarter&on=2026-01-01&team=" in message.body


def test_a_second_run_sends_nothing(leads):
    queue()
    assert queue() == []
    assert len(deliver()) == 1
    assert Delivery.objects.get(topic="quarterly-review").status == Delivery.Status.SENT


def test_the_lead_counts_only_the_private_incidents_they_may_see(leads, quarter, owner):
    timed(owner, level=4, start="2026-02-10T00:00", services=[quarter.api], team=quarter.team,
          private=True)  # fmt: skip
    queue()
    (message,) = deliver()
    # The lead leads Payments, so its private incident counts for them: 5, with SEV4.
    assert message.subject == "Q1 2026 review for Payments: 5 incidents"
    assert "  SEV4: 1" in message.body


def test_a_private_incident_the_lead_may_not_see_is_left_out(leads, quarter, owner):
    hidden = timed(owner, level=4, start="2026-02-10T00:00", services=[quarter.api],
                   team=quarter.team, private=True)  # fmt: skip
    # Made private and moved to no team: only its owner (and admins) may see it.
    Incident.objects.filter(pk=hidden.pk).update(team=None)
    queue()
    (message,) = deliver()
    assert message.subject == "Q1 2026 review for Payments: 4 incidents"
    assert "SEV4" not in message.body


def test_a_lead_who_left_gets_nothing_and_the_delivery_says_why(leads):
    queue()
    leads.is_active = False
    leads.save()
    assert deliver() == []
    assert "has left" in Delivery.objects.get(topic="quarterly-review").error


def test_the_command_can_dry_run(leads, capsys):
    call_command("send_quarterly_digest", "--dry-run", "--date", "2026-04-02")
    assert "Would queue the Q1 2026 review of Payments for lena@example.com" in (
        capsys.readouterr().out
    )
    assert not Delivery.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "tomorrow", "2026-02-30"])
def test_the_command_refuses_a_bad_date(value, db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_quarterly_digest", "--date", value)
