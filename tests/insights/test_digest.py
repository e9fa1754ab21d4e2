"""The quarterly review e-mailed to team leads, once per team and quarter."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from incidents.models import Team
from insights.digest import send_quarterly_digests
from tests import factories
from tests.insights.conftest import NOW

APRIL = date(2026, 4, 1)


@pytest.fixture
def leads(quarter, owner):
    lead = factories.user("lena", first_name="Lena")
    Team.objects.filter(pk=quarter.team.pk).update(lead=lead)
    Team.objects.filter(pk=quarter.other.pk).update(lead=factories.user("sam", email=""))
    return lead


def test_each_lead_gets_their_teams_quarter(leads):
    with time_machine.travel(NOW, tick=False):
        sent = send_quarterly_digests(APRIL)
    assert [d.message.to for d in sent] == [["lena@example.com"]]  # Sam has no address
    message = mail.outbox[0]
    assert message.subject == "Q1 2026 review for Payments: 4 incidents"
    assert "Hello Lena," in message.body
    assert "  SEV2: 2" in message.body
    assert "  Time to resolve: 2h 00m · 5h 00m · 3 · — · — · 1h 40m" in message.body
    assert 'Answered "was it worth it?" with no: 1 · 50% of 2 answers' in message.body
    assert "/insights/?period=quarter&on=2026-01-01&team=" in message.body


def test_a_second_run_sends_nothing(leads):
    send_quarterly_digests(APRIL)
    assert send_quarterly_digests(APRIL) == []
    assert len(mail.outbox) == 1


def test_the_command_can_dry_run(leads, capsys):
    call_command("send_quarterly_digest", "--dry-run", "--date", "2026-04-02")
    assert "Would send 'Q1 2026 review for Payments: 4 incidents' to lena@example.com" in (
        capsys.readouterr().out
    )
    assert mail.outbox == []


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "tomorrow", "2026-02-30"])
def test_the_command_refuses_a_bad_date(value, db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("send_quarterly_digest", "--date", value)
