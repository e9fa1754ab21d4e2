"""Reminders when an open incident goes quiet: on schedule, once per interval, until it speaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from incidents.models import QuietReminder, StatusUpdate
from incidents.quiet import send_quiet_reminders
from incidents.response import milestone_mark, quiet_snooze, role_assign, status_update_post
from kernel import delivery as engine
from kernel.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def run(minutes: float) -> list[QuietReminder]:
    with time_machine.travel(at(minutes), tick=False):
        return send_quiet_reminders()


@pytest.fixture
def quiet_incident(owner, teammate, slack_server):
    """A SEV1 (an update every 30 minutes) with a communications lead and a team Slack."""
    severity = factories.severity(1)
    severity.status_update_every_minutes = 30
    severity.save()
    team = factories.team("Platform", slack_webhook_url=slack_server.url)
    with time_machine.travel(START, tick=False):
        made = factories.incident(owner=owner, level=1, started_at=START, team=team)
        role_assign(incident=made, role="communications_lead", person=teammate, user=owner)
    return made


def test_nothing_before_the_first_interval_is_over(quiet_incident):
    assert run(29.9) == []
    assert mail.outbox == []


def test_the_commander_and_communications_lead_are_reminded_once_per_interval(
    quiet_incident, owner, teammate, slack_server
):
    [reminder] = run(30)
    assert reminder.interval_number == 1
    # One e-mail each, so that one address failing spares the other.
    assert sorted(message.to for message in mail.outbox) == [[teammate.email], [owner.email]]
    for message in mail.outbox:
        assert message.subject == f"{quiet_incident.ref} has had no status update for 30 minutes"
        url = f"https://hindsight.example.com/incidents/{quiet_incident.ref}/active/"
        assert url in message.body
    [payload] = slack_server.payloads()
    assert "no status update for 30 minutes" in payload["text"]
    assert "Priya Raman, Marcus Webb" in payload["text"]

    assert run(31) == []
    assert run(59) == []
    [second] = run(60)
    assert second.interval_number == 2
    assert len(mail.outbox) == 4
    assert run(75) == []
    assert QuietReminder.objects.count() == 2


def test_reminders_go_out_as_deliveries_of_their_own_topic(quiet_incident, owner, teammate):
    [reminder] = run(30)
    rows = Delivery.objects.filter(topic="quiet-reminder", subject_id=reminder.pk)
    assert sorted((d.channel, d.status, d.attempts) for d in rows) == [
        ("email", "sent", 1),
        ("email", "sent", 1),
        ("slack", "sent", 1),
    ]
    assert sorted(d.address.get("to", [""])[0] for d in rows if d.channel == "email") == sorted(
        [owner.email, teammate.email]
    )


def test_a_status_update_starts_a_new_quiet_stretch(quiet_incident, owner):
    run(30)
    with time_machine.travel(at(40), tick=False):
        status_update_post(
            incident=quiet_incident,
            known="k",
            doing="d",
            audience=StatusUpdate.Audience.INTERNAL,
            user=owner,
        )
    assert run(60) == []
    assert run(69) == []
    [reminder] = run(70)
    assert (reminder.quiet_since, reminder.interval_number) == (at(40), 1)


def test_reminders_stop_when_the_incident_is_resolved(quiet_incident, owner):
    run(30)
    with time_machine.travel(at(45), tick=False):
        milestone_mark(incident=quiet_incident, milestone="resolved", user=owner)
    assert run(60) == []
    assert run(240) == []
    assert len(mail.outbox) == 2


def test_a_snooze_holds_reminders_until_it_ends(quiet_incident, owner):
    with time_machine.travel(at(25), tick=False):
        quiet_snooze(
            incident=quiet_incident,
            until=at(85),
            reason="Waiting on the vendor's engineers",
            user=owner,
        )
    assert run(30) == []
    assert run(84) == []
    [reminder] = run(90)
    assert reminder.interval_number == 3
    assert quiet_incident.history.first().quiet_snooze_reason == "Waiting on the vendor's engineers"


def test_the_interval_is_the_severitys(quiet_incident):
    quiet_incident.severity.status_update_every_minutes = 60
    quiet_incident.severity.save()
    assert run(30) == []
    assert len(run(60)) == 1


def test_a_failing_channel_is_recorded_and_the_others_still_go(quiet_incident, slack_server):
    slack_server.statuses.append(404)
    [reminder] = run(30)
    assert len(mail.outbox) == 2
    slack = Delivery.objects.get(topic="quiet-reminder", subject_id=reminder.pk, channel="slack")
    assert slack.status == Delivery.Status.FAILED
    assert "answered 404" in slack.error
    assert "secret" not in slack.error


def test_a_reminder_that_failed_for_now_is_retried_with_a_wait(
    quiet_incident, slack_server, settings
):
    settings.HINDSIGHT_DELIVERY_RETRY_SECONDS = 60
    slack_server.statuses.append(503)
    [reminder] = run(30)
    slack = Delivery.objects.get(topic="quiet-reminder", subject_id=reminder.pk, channel="slack")
    assert (slack.status, slack.next_attempt_at) == ("pending", at(31))
    with time_machine.travel(at(30.5), tick=False):
        assert engine.deliver_due().sent == 0
    with time_machine.travel(at(31), tick=False):
        assert engine.deliver_due().sent == 1
    [payload] = slack_server.payloads()
    assert "no status update for 30 minutes" in payload["text"]


def test_a_retry_after_the_incident_was_resolved_is_not_sent(quiet_incident, owner, slack_server):
    slack_server.statuses.append(503)
    [reminder] = run(30)
    with time_machine.travel(at(30.5), tick=False):
        milestone_mark(incident=quiet_incident, milestone="resolved", user=owner)
    with time_machine.travel(at(40), tick=False):
        engine.deliver_due()
    assert slack_server.payloads() == []
    slack = Delivery.objects.get(topic="quiet-reminder", subject_id=reminder.pk, channel="slack")
    assert slack.status == Delivery.Status.FAILED
    assert "resolved meanwhile" in slack.error


def test_a_retry_after_a_status_update_is_not_sent(quiet_incident, owner, slack_server):
    slack_server.statuses.append(503)
    run(30)
    with time_machine.travel(at(30.5), tick=False):
        status_update_post(
            incident=quiet_incident,
            known="k",
            doing="d",
            audience=StatusUpdate.Audience.INTERNAL,
            user=owner,
        )
    with time_machine.travel(at(40), tick=False):
        engine.deliver_due()
    assert slack_server.payloads() == []


def test_the_page_shows_the_reminder_and_offers_a_snooze(client, quiet_incident, teammate):
    client.force_login(teammate)
    with time_machine.travel(at(42), tick=False):
        page = client.get(reverse("incident-active", args=[quiet_incident.ref])).content.decode()
    assert "No status update for 42m." in page
    # The update was due 30 minutes in, and the page says so, not the next reminder's time.
    assert f'data-until="{at(30).isoformat()}"' in page
    assert "You are being reminded as communications lead." in page
    assert "Snooze these reminders" in page


def test_snoozing_from_the_page_needs_a_reason(owner_client, quiet_incident):
    url = reverse("incident-quiet-snooze", args=[quiet_incident.ref])
    with time_machine.travel(at(42), tick=False):
        response = owner_client.post(url, {"minutes": "60", "reason": " "}, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        assert "Say why" in response.content.decode()
        bad = owner_client.post(url, {"minutes": "99999", "reason": "x"}, HTTP_HX_REQUEST="true")
        assert bad.status_code == 422
        owner_client.post(url, {"minutes": "60", "reason": "Vendor call"}, HTTP_HX_REQUEST="true")
    quiet_incident.refresh_from_db()
    assert quiet_incident.quiet_snoozed_until == at(102)


def test_the_command_runs_the_same_function(quiet_incident, capsys):
    with time_machine.travel(at(30), tick=False):
        call_command("send_quiet_reminders")
        call_command("send_quiet_reminders")
    out = capsys.readouterr().out
    assert f"{quiet_incident.ref}: quiet for 30 min" in out
    assert out.count("1 quiet-incident reminder(s) sent.") == 1
    assert "0 quiet-incident reminder(s) sent." in out
    assert len(mail.outbox) == 2


def test_the_admin_shows_how_each_reminder_went_out(client, quiet_incident, slack_server):
    slack_server.statuses.append(404)
    [reminder] = run(30)
    admin = factories.user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(
        reverse("admin:incidents_quietreminder_change", args=[reminder.pk])
    ).content.decode()
    assert "priya@example.com by e-mail: Sent" in page
    assert "Platform on Slack: Failed (Slack webhook at 127.0.0.1 answered 404)" in page
    listed = client.get(reverse("admin:kernel_delivery_changelist") + "?topic=quiet-reminder")
    assert len(listed.context["cl"].result_list) == 3
