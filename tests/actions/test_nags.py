"""The daily reminder run: who is reminded of what, when, how, and only once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from actions import nags
from actions.models import ActionItem, Nag, NagLine, NagPreference, ReviewMeeting
from actions.nags import NagConfig, send_nags
from kernel import channels
from kernel import delivery as delivery_engine
from kernel.channels import ChannelError
from kernel.models import Delivery
from postmortems.models import Postmortem
from tests import factories
from tests.actions.conftest import MONDAY, people

pytestmark = pytest.mark.django_db

TODAY = MONDAY.date()


def run(**overrides):
    """One daily run with retries that do not wait."""
    sleep = overrides.pop("sleep", None) or (lambda seconds: None)
    config = NagConfig.from_settings(**{"retry_seconds": 0, **overrides})
    return send_nags(config=config, sleep=sleep)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def runs_on(first: datetime, count: int, **overrides) -> list[date]:
    """Run once a day from `first` for `count` days; the days somebody was e-mailed."""
    reminded = []
    for offset in range(count):
        sent_before = len(mail.outbox)
        with time_machine.travel(first + days(offset), tick=False):
            run(**overrides)
        if len(mail.outbox) > sent_before:
            reminded.append((first + days(offset)).date())
    return reminded


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


# When an item reminds ----------------------------------------------------------------------


def test_an_item_reminds_its_owner_the_day_after_it_was_due(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY)
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert mail.outbox == []

    with time_machine.travel(MONDAY + days(1), tick=False):
        report = run()
    assert recipients() == ["priya@example.com"]
    assert (report.reminded, report.lines, report.sent) == (1, 1, 1)


def test_it_reminds_again_every_seven_days_and_not_in_between(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    reminded = runs_on(MONDAY, 16)
    assert reminded == [TODAY, TODAY + days(7), TODAY + days(14)]


def test_a_team_chooses_its_own_cadence(owner, incident, team):
    team.nag_every_days = 3
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(1))
    assert runs_on(MONDAY, 7) == [TODAY, TODAY + days(3), TODAY + days(6)]


def test_the_incidents_team_cadence_applies_when_the_item_has_no_team(owner, team):
    team.nag_every_days = 2
    team.save()
    incident = factories.incident(owner=owner, team=team)
    factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    assert runs_on(MONDAY, 5) == [TODAY, TODAY + days(2), TODAY + days(4)]


def test_a_snoozed_item_waits_for_its_new_date(owner, incident):
    item = factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert len(mail.outbox) == 1
    item.due_date = TODAY + days(3)
    item.save()

    # Quiet until the new date has passed, then a first reminder again (not seven days on).
    assert runs_on(MONDAY + days(1), 5) == [TODAY + days(4)]


@pytest.mark.parametrize("status", ["done", "wont_do"])
def test_closed_items_never_remind(owner, incident, status):
    factories.action_item(
        incident,
        owner=owner,
        due_date=TODAY - days(30),
        status=status,
        outcome="Added the alert",
        worth_it="yes",
        wont_do_reason="Replaced by the new queue",
    )
    assert runs_on(MONDAY, 8) == []


@pytest.mark.parametrize("status", ["open", "in_progress", "blocked"])
def test_every_open_status_reminds(owner, incident, status):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(2), status=status)
    assert runs_on(MONDAY, 1) == [TODAY]


def test_an_item_without_an_owner_reminds_the_incident_owner(owner, teammate):
    incident = factories.incident(owner=owner)
    factories.action_item(incident, owner=None, title="Nobody's job", due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert recipients() == ["priya@example.com"]
    assert "Nobody's job" in mail.outbox[0].body


def test_an_item_whose_owner_left_reminds_the_incident_owner(owner, teammate, incident):
    teammate.is_active = False
    teammate.save()
    factories.action_item(incident, owner=teammate, due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert recipients() == ["priya@example.com"]


def test_nobody_to_remind_means_no_reminder(teammate):
    incident = factories.incident(owner=None)
    factories.action_item(incident, owner=None, due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert mail.outbox == []
    assert not Nag.objects.exists()


def test_one_digest_per_person_lists_all_their_items(owner, teammate, incident):
    other = factories.incident(owner=owner)
    for title, target in [
        ("Alert on pool", incident),
        ("Add a runbook", other),
        ("Load test", incident),
    ]:
        factories.action_item(target, owner=owner, title=title, due_date=TODAY - days(2))
    factories.action_item(incident, owner=teammate, title="Rotate keys", due_date=TODAY - days(9))
    factories.action_item(incident, owner=owner, title="Not yet", due_date=TODAY + days(2))
    with time_machine.travel(MONDAY, tick=False):
        report = run()
    assert recipients() == ["marcus@example.com", "priya@example.com"]
    priya = next(m for m in mail.outbox if m.to == ["priya@example.com"])
    assert priya.subject == "Hindsight: 3 overdue action items"
    for title in ("Alert on pool", "Add a runbook", "Load test"):
        assert title in priya.body
    assert "Not yet" not in priya.body
    assert (report.reminded, report.lines) == (2, 4)


def test_after_three_reminders_the_team_lead_is_copied(owner, incident, team):
    team.nag_every_days = 1
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(1))
    runs_on(MONDAY, 5)
    assert [message.cc for message in mail.outbox] == [
        [],
        [],
        [],
        ["lena@example.com"],
        ["lena@example.com"],
    ]
    assert "Copied to lena@example.com" in mail.outbox[3].body
    assert NagLine.objects.filter(escalated=True).count() == 2


def test_without_a_team_lead_the_incident_owner_is_copied(owner, teammate, incident):
    factories.action_item(incident, owner=teammate, due_date=TODAY - days(1))
    runs_on(MONDAY, 1, escalate_after=1, every_days=1)
    runs_on(MONDAY + days(1), 1, escalate_after=1, every_days=1)
    assert [m.cc for m in mail.outbox] == [[], ["priya@example.com"]]


def test_the_escalation_threshold_is_per_team(owner, incident, team):
    team.nag_every_days = 1
    team.nag_escalate_after = 1
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(1))
    runs_on(MONDAY, 2)
    assert [m.cc for m in mail.outbox] == [[], ["lena@example.com"]]


def test_a_person_on_holiday_hears_nothing_until_the_pause_ends(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    NagPreference.objects.create(user=owner, paused_until=TODAY + days(2))
    assert runs_on(MONDAY, 5) == [TODAY + days(3)]


# Time zones --------------------------------------------------------------------------------


def test_overdue_is_read_in_the_reminders_time_zone(owner, incident, settings):
    factories.action_item(incident, owner=owner, due_date=date(2026, 11, 23))
    late_monday_utc = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Tuesday 01:00 in Auckland
    with time_machine.travel(late_monday_utc, tick=False):
        run(time_zone="UTC")
        assert mail.outbox == []
        run(time_zone="Pacific/Auckland")
    assert len(mail.outbox) == 1
    assert Nag.objects.get().period == date(2026, 11, 24)


def test_just_after_midnight_utc_it_is_still_yesterday_in_los_angeles(owner, incident):
    factories.action_item(incident, owner=owner, due_date=date(2026, 11, 23))
    just_after_midnight = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    with time_machine.travel(just_after_midnight, tick=False):
        run(time_zone="America/Los_Angeles")
        assert mail.outbox == []
        run(time_zone="UTC")
    assert len(mail.outbox) == 1


def test_once_a_day_means_once_per_day_of_the_reminders_calendar(owner, incident):
    factories.action_item(incident, owner=owner, due_date=date(2026, 11, 20))
    for hour in (0, 9, 23):
        with time_machine.travel(datetime(2026, 11, 23, hour, 30, tzinfo=UTC), tick=False):
            run(time_zone="UTC")
    assert len(mail.outbox) == 1


# Postmortems -------------------------------------------------------------------------------


def resolved(incident, when):
    incident.started_at = when - timedelta(hours=3)
    incident.status = "resolved"
    incident.resolved_at = when
    incident.save()
    Postmortem.objects.filter(incident=incident).update(due_at=when + timedelta(hours=48))
    return incident


def test_a_serious_draft_past_its_due_date_reminds_the_incident_owner(owner):
    incident = resolved(
        factories.incident(owner=owner, level=2, title="Search down"), MONDAY - days(3)
    )
    ReviewMeeting.objects.create(incident=incident, held_on=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    (message,) = mail.outbox
    assert message.to == ["priya@example.com"]
    assert message.subject == "Hindsight: 1 postmortem to follow up"
    assert f"{incident.ref} Search down" in message.body
    assert "Still a draft, 1 day past its due date" in message.body


@pytest.mark.parametrize("level", [3, 4])
def test_a_minor_draft_past_its_due_date_does_not_remind(owner, level):
    incident = resolved(factories.incident(owner=owner, level=level), MONDAY - days(3))
    ReviewMeeting.objects.create(incident=incident, held_on=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert mail.outbox == []


def test_a_published_postmortem_does_not_remind_about_its_draft(owner):
    incident = resolved(factories.incident(owner=owner, level=1), MONDAY - days(3))
    ReviewMeeting.objects.create(incident=incident, held_on=TODAY - days(1))
    Postmortem.objects.filter(incident=incident).update(status="published")
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert mail.outbox == []


def test_no_review_meeting_five_days_after_resolution_reminds(owner):
    incident = resolved(
        factories.incident(owner=owner, level=3, title="Slow logins"), MONDAY - days(4)
    )
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert mail.outbox == []
    with time_machine.travel(MONDAY + days(1), tick=False):
        run()
    (message,) = mail.outbox
    assert "Resolved 5 days ago and no review meeting is recorded" in message.body
    assert incident.get_absolute_url() in message.body

    ReviewMeeting.objects.create(incident=incident, held_on=TODAY)
    assert runs_on(MONDAY + days(8), 3) == []


def test_postmortem_reminders_join_the_same_digest_as_items(owner):
    incident = resolved(factories.incident(owner=owner, level=1), MONDAY - days(10))
    factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        run()
    (message,) = mail.outbox
    assert message.subject == "Hindsight: 1 overdue action item and 2 postmortems to follow up"


def test_postmortem_reminders_repeat_at_the_teams_cadence(owner):
    resolved(factories.incident(owner=owner, level=4), MONDAY - days(6))
    assert runs_on(MONDAY, 9) == [TODAY, TODAY + days(7)]


# What the messages say ---------------------------------------------------------------------


def test_the_email_has_text_and_html_with_links_and_the_preferences_link(owner, incident):
    item = factories.action_item(
        incident,
        owner=owner,
        title="Alert <b>before</b> the pool runs dry",
        priority=1,
        due_date=TODAY - days(12),
        ticket_url="https://acme.atlassian.net/browse/OPS-42",
    )
    with time_machine.travel(MONDAY, tick=False):
        run()
    (message,) = mail.outbox
    item_url = f"https://hindsight.example.com/actions/{item.pk}/"
    preferences = "https://hindsight.example.com/actions/preferences/"
    assert message.subject == "Hindsight: 1 overdue action item"
    assert message.body.startswith("Hello Priya,")
    assert "Alert <b>before</b> the pool runs dry (P1)" in message.body
    assert "12 days overdue" in message.body
    assert "ticket OPS-42: https://acme.atlassian.net/browse/OPS-42" in message.body
    assert item_url in message.body
    assert preferences in message.body
    assert f"{incident.ref} {incident.title}" in message.body

    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Alert &lt;b&gt;before&lt;/b&gt; the pool runs dry" in html
    assert "<b>before</b>" not in html
    assert f'href="{item_url}"' in html
    assert f'href="{preferences}"' in html
    assert ">OPS-42</a>" in html


def test_slack_gets_the_teams_part_of_the_digest(owner, incident, team, slack_server):
    team.slack_webhook_url = slack_server.url
    team.save()
    factories.action_item(
        incident, owner=owner, team=team, title="Fix <retry> & backoff", due_date=TODAY - days(3)
    )
    factories.action_item(incident, owner=owner, title="Not the team's", due_date=TODAY - days(3))
    with time_machine.travel(MONDAY, tick=False):
        report = run()
    assert report.sent == 2
    (payload,) = slack_server.payloads()
    assert payload["text"].startswith("*Reminder for Priya Raman*: 1 overdue action item.")
    assert "Fix &lt;retry&gt; &amp; backoff" in payload["text"]
    assert "is 3 days overdue" in payload["text"]
    assert "Not the team's" not in payload["text"]
    assert "Not the team's" in mail.outbox[0].body
    assert slack_server.received[0]["path"] == "/services/T000/B000/secret"


def test_a_person_can_turn_off_slack_or_email(owner, incident, team, slack_server):
    team.slack_webhook_url = slack_server.url
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(3))
    NagPreference.objects.create(user=owner, by_email=False, by_slack=True)
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert (len(mail.outbox), len(slack_server.payloads())) == (0, 1)

    NagPreference.objects.filter(user=owner).update(by_email=True, by_slack=False)
    with time_machine.travel(MONDAY + days(7), tick=False):
        run()
    assert (len(mail.outbox), len(slack_server.payloads())) == (1, 1)


def test_slack_only_without_a_team_channel_falls_back_to_email(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    NagPreference.objects.create(user=owner, by_email=False, by_slack=True)
    with time_machine.travel(MONDAY, tick=False):
        run()
    assert recipients() == ["priya@example.com"]


# Channels failing --------------------------------------------------------------------------


def test_a_failing_slack_is_retried_with_backoff_and_email_goes_out_anyway(
    owner, incident, team, slack_server
):
    team.slack_webhook_url = slack_server.url
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(3))
    slack_server.statuses.extend([503, 500])
    waits = []
    with time_machine.travel(MONDAY, tick=False) as traveller:

        def sleep(seconds):
            waits.append(seconds)
            traveller.shift(seconds)

        report = run(retry_seconds=10, sleep=sleep)
    assert waits == [10, 20]
    assert [r["status"] for r in slack_server.received] == [503, 500, 200]
    assert len(mail.outbox) == 1
    slack = Delivery.objects.get(channel="slack")
    assert (slack.status, slack.attempts, slack.error) == ("sent", 3, "")
    assert (report.sent, report.failed) == (2, 0)


def test_a_slack_that_refuses_is_not_retried(owner, incident, team, slack_server):
    team.slack_webhook_url = slack_server.url
    team.save()
    factories.action_item(incident, owner=owner, team=team, due_date=TODAY - days(3))
    slack_server.statuses.append(404)
    with time_machine.travel(MONDAY, tick=False):
        report = run()
    slack = Delivery.objects.get(channel="slack")
    assert (slack.status, slack.attempts) == ("failed", 1)
    assert "answered 404" in slack.error
    assert "secret" not in slack.error
    assert (len(mail.outbox), report.failed) == (1, 1)


def test_email_that_keeps_failing_gives_up_after_the_last_attempt(owner, teammate, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    factories.action_item(incident, owner=teammate, due_date=TODAY - days(3))
    real_send = channels.send_email

    def flaky(*, to, **message):
        if to == ["priya@example.com"]:
            raise ChannelError("mail server unreachable", retryable=True)
        real_send(to=to, **message)

    with (
        mock.patch.object(channels, "send_email", autospec=True, side_effect=flaky) as sender,
        time_machine.travel(MONDAY, tick=False),
    ):
        report = run(attempts=3)
    assert sender.call_count == 4  # three tries for Priya, one for Marcus
    assert recipients() == ["marcus@example.com"]
    failed = Delivery.objects.get(address__to=[owner.email])
    assert (failed.status, failed.attempts, failed.error) == (
        "failed",
        3,
        "mail server unreachable",
    )
    assert (report.sent, report.failed) == (1, 1)


def test_a_fault_in_one_message_does_not_stop_the_others(owner, teammate, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    factories.action_item(incident, owner=teammate, due_date=TODAY - days(3))
    real = nags.digest_email

    def broken(*, recipient, **kwargs):
        if recipient == owner:
            raise KeyError("a bug")
        return real(recipient=recipient, **kwargs)

    with (
        mock.patch.object(nags, "digest_email", autospec=True, side_effect=broken),
        time_machine.travel(MONDAY, tick=False),
    ):
        report = run()
    assert recipients() == ["marcus@example.com"]
    assert report.failed == 1


# Exactly once ------------------------------------------------------------------------------


def test_running_twice_on_the_same_day_sends_once(owner, teammate, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    factories.action_item(incident, owner=teammate, due_date=TODAY - days(3))
    with time_machine.travel(MONDAY, tick=False):
        run()
        again = run()
    assert len(mail.outbox) == 2
    assert (again.reminded, again.sent) == (0, 0)
    assert Nag.objects.count() == 2


def test_a_new_overdue_item_later_that_day_waits_for_tomorrow(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    with time_machine.travel(MONDAY, tick=False):
        run()
    factories.action_item(incident, owner=owner, title="Second", due_date=TODAY - days(1))
    with time_machine.travel(MONDAY + timedelta(hours=5), tick=False):
        run()
    assert len(mail.outbox) == 1
    with time_machine.travel(MONDAY + days(1), tick=False):
        run()
    assert len(mail.outbox) == 2
    assert "Second" in mail.outbox[1].body


def test_after_a_crash_before_sending_the_next_run_sends_what_was_decided(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    with (
        time_machine.travel(MONDAY, tick=False),
        mock.patch.object(nags, "deliver_pending", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        run()
    assert mail.outbox == []
    assert Delivery.objects.get().status == "pending"

    with time_machine.travel(MONDAY + timedelta(minutes=5), tick=False):
        report = run()
        run()
    assert len(mail.outbox) == 1
    assert (report.reminded, report.sent) == (0, 1)


def test_the_admin_shows_how_a_reminder_went_out(admin_client, owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    with time_machine.travel(MONDAY, tick=False):
        run()
    nag = Nag.objects.get()
    page = admin_client.get(reverse("admin:actions_nag_change", args=[nag.pk]))
    assert "priya@example.com by e-mail: Sent" in page.content.decode()


def test_a_delivery_cut_off_mid_send_is_never_sent_again(owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    with (
        time_machine.travel(MONDAY, tick=False),
        mock.patch.object(delivery_engine, "_send_one", side_effect=SystemExit("killed")),
        pytest.raises(SystemExit),
    ):
        run()
    assert Delivery.objects.get().status == "sending"

    with time_machine.travel(MONDAY + timedelta(minutes=10), tick=False):
        run()
    assert mail.outbox == []
    with time_machine.travel(MONDAY + timedelta(hours=2), tick=False):
        run()
    delivery = Delivery.objects.get()
    assert mail.outbox == []
    assert delivery.status == "failed"
    assert "Interrupted while sending" in delivery.error


def test_a_dry_run_records_and_sends_nothing(owner, teammate, incident, lead, team):
    team.nag_every_days = 1
    team.nag_escalate_after = 1
    team.save()
    factories.action_item(
        incident, owner=owner, team=team, title="Alert on pool", due_date=TODAY - days(3)
    )
    with time_machine.travel(MONDAY - days(1), tick=False):
        run()
    mail.outbox.clear()
    with time_machine.travel(MONDAY, tick=False):
        report = send_nags(dry_run=True)
    assert mail.outbox == []
    assert Nag.objects.count() == 1
    (plan,) = report.planned
    assert plan.splitlines() == [
        "Priya Raman <priya@example.com> by e-mail:",
        f"  - {incident.ref} Alert on pool (action item overdue, 3 days)",
        "  copying Lena Hoffmann",
    ]


def test_the_query_count_does_not_grow_with_the_number_of_items(owner, teammate, lead):
    def queries_for_one_run(at):
        with time_machine.travel(at, tick=False), CaptureQueriesContext(connection) as queries:
            report = run()
        assert report.reminded == 3
        return len(queries)

    incident = factories.incident(owner=owner)
    for person in (owner, teammate, lead):
        factories.action_item(incident, owner=person, due_date=TODAY - days(1))
    few = queries_for_one_run(MONDAY)

    ActionItem.objects.all().delete()
    for person in (owner, teammate, lead):
        for n in range(30):
            factories.action_item(
                incident, owner=person, title=f"Item {n}", due_date=TODAY - days(1)
            )
    many = queries_for_one_run(MONDAY + days(1))
    assert many == few
    assert sum(len(m.body.splitlines()) for m in mail.outbox[3:]) > 250


def test_people_are_taken_in_batches(owner, incident):
    everyone = people(7)
    for person in everyone:
        factories.action_item(incident, owner=person, due_date=TODAY - days(1))
    with time_machine.travel(MONDAY, tick=False):
        report = run(batch_size=3)
    assert (report.reminded, report.sent) == (7, 7)
    assert sorted(recipients()) == sorted(p.email for p in everyone)


def test_item_is_due_follows_the_cadence():
    due = date(2026, 11, 1)
    assert nags.item_is_due(due_date=due, last_nagged=None, every=7, today=date(2026, 11, 2))
    assert not nags.item_is_due(
        due_date=due, last_nagged=date(2026, 11, 2), every=7, today=date(2026, 11, 8)
    )
    assert nags.item_is_due(
        due_date=due, last_nagged=date(2026, 11, 2), every=7, today=date(2026, 11, 9)
    )
    # Snoozed past the last reminder: the next reminder is a first one again.
    assert nags.item_is_due(
        due_date=date(2026, 11, 10),
        last_nagged=date(2026, 11, 9),
        every=7,
        today=date(2026, 11, 11),
    )


def test_the_reminders_day_follows_the_configured_zone():
    at = timezone.make_aware(datetime(2026, 3, 29, 23, 30), UTC)
    assert NagConfig.from_settings(time_zone="Europe/Berlin").today(at) == date(2026, 3, 30)
    assert NagConfig.from_settings(time_zone="UTC").today(at) == date(2026, 3, 29)
