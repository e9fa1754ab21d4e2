"""Outbound webhooks: which changes are sent, signed, to which team, and how failures go."""

from __future__ import annotations

import json
import socket
import time
from datetime import date
from unittest import mock

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from actions.items import action_item_update
from actions.nags import NagConfig, send_nags
from incidents.editing import incident_update
from incidents.models import Incident, TeamWebhook, WebhookEvent
from incidents.webhooks import (
    incident_data,
    signature_header,
    signature_valid,
    webhook_event_raise,
    webhook_ping,
)
from kernel import channels
from kernel import delivery as engine
from kernel.models import Delivery
from postmortems.publishing.workflow import postmortem_publish
from tests import factories
from tests.incidents.conftest import webhook

pytestmark = pytest.mark.django_db
ALL = [
    "incident.opened",
    "incident.status_changed",
    "postmortem.published",
    "action_item.overdue",
    "action_item.closed",
]
NO_WAIT = engine.RetryPolicy(attempts=3, retry_seconds=0)


def send() -> engine.DeliveryReport:
    return engine.deliver_due(policy=NO_WAIT, wait_for_retries=True, sleep=lambda s: None)


def test_an_opened_incident_is_posted_signed_to_its_teams_webhook(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    incident = factories.incident(owner=owner, team=team, title="Checkout failing")
    send()
    [request] = receiver.received
    assert request["signed"] and request["status"] == 200
    assert request["headers"]["X-Hindsight-Event"] == "incident.opened"
    payload = request["payload"]
    assert payload["event"] == "incident.opened"
    assert payload["team"] == {"slug": team.slug, "name": "Payments"}
    assert payload["incident"]["ref"] == incident.ref
    assert payload["incident"]["title"] == "Checkout failing"
    assert payload["incident"]["url"].endswith(f"/incidents/{incident.ref}/")
    assert payload["id"] == f"evt_{WebhookEvent.objects.get().pk}"


def test_a_status_change_is_sent_with_the_status_before(owner, team, receiver):
    incident = factories.incident(owner=owner, team=team)
    webhook(team, receiver, ["incident.status_changed"])
    incident_update(incident, base_version=incident.version, user=owner, status="identified")
    incident.refresh_from_db()
    incident_update(incident, base_version=incident.version, user=owner, title="Renamed only")
    send()
    [payload] = receiver.payloads()
    assert payload["event"] == "incident.status_changed"
    assert payload["previous_status"] == "investigating"
    assert payload["incident"]["status"] == "identified"


def test_a_stale_save_that_changes_nothing_sends_nothing(owner, team, receiver):
    incident = factories.incident(owner=owner, team=team)
    webhook(team, receiver, ["incident.status_changed"])
    incident_update(incident, base_version=incident.version, user=owner, owner=None)
    result = incident_update(incident, base_version=incident.version, user=owner, owner=owner)
    assert not result.saved
    assert not WebhookEvent.objects.exists()


def test_a_publication_is_sent(owner, team, receiver):
    incident = factories.incident(owner=owner, team=team)
    factories.publishable(incident, owner)
    incident.postmortem.status = "in_review"
    incident.postmortem.save()
    webhook(team, receiver, ["postmortem.published"])
    postmortem_publish(incident=Incident.objects.get(pk=incident.pk), user=owner)
    send()
    [payload] = receiver.payloads()
    assert payload["event"] == "postmortem.published"
    assert payload["publication"]["number"] == 1
    assert payload["incident"]["ref"] == incident.ref


def test_closing_an_item_is_sent_once_and_editing_it_afterwards_is_not(owner, team, receiver):
    incident = factories.incident(owner=owner, team=team)
    item = factories.action_item(incident, owner=owner)
    webhook(team, receiver, ["action_item.closed"])
    result = action_item_update(
        item,
        base_version=item.version,
        user=owner,
        status="done",
        outcome="Pool sized from traffic",
        worth_it="yes",
        evidence_url="https://git.example.com/payments/api/pull/7",
    )
    action_item_update(
        result.block, base_version=result.block.version, user=owner, title="Size the pool"
    )
    send()
    [payload] = receiver.payloads()
    assert payload["event"] == "action_item.closed"
    assert payload["previous_status"] == "open"
    assert payload["action_item"]["outcome"] == "Pool sized from traffic"
    assert payload["action_item"]["worth_it"] == "yes"


def test_an_overdue_item_is_sent_the_first_day_it_is_reminded_of_only(owner, team, receiver):
    incident = factories.incident(owner=owner, team=team)
    item = factories.action_item(incident, owner=owner, due_date=date(2026, 11, 20))
    webhook(team, receiver, ["action_item.overdue"])
    config = NagConfig.from_settings(retry_seconds=0)
    for day in (23, 30):
        with time_machine.travel(f"2026-11-{day} 09:00Z", tick=False):
            send_nags(config=config, sleep=lambda s: None)
            send()
    [payload] = receiver.payloads()
    assert payload["event"] == "action_item.overdue"
    assert payload["action_item"]["id"] == item.pk
    assert payload["action_item"]["days_overdue"] == 3


def test_an_item_of_a_private_incident_is_told_only_to_the_incidents_team(owner, team, receiver):
    other = factories.team("Platform")
    incident = factories.incident(owner=owner, team=team, private=True)
    item = factories.action_item(incident, owner=owner, team=other)
    webhook(other, receiver, ["action_item.closed"])
    action_item_update(
        item,
        base_version=item.version,
        user=owner,
        status="wont_do",
        wont_do_reason="Replaced by the new pool",
    )
    assert not WebhookEvent.objects.exists()


def test_a_webhook_gets_only_the_events_it_chose(owner, team, receiver):
    webhook(team, receiver, ["postmortem.published"])
    factories.incident(owner=owner, team=team)
    assert not WebhookEvent.objects.exists()
    assert not Delivery.objects.filter(channel="webhook").exists()


def test_a_switched_off_webhook_gets_nothing(owner, team, receiver):
    webhook(team, receiver, ALL, active=False)
    factories.incident(owner=owner, team=team)
    assert not WebhookEvent.objects.exists()


def test_an_event_rolls_back_with_its_change(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    with pytest.raises(RuntimeError), transaction.atomic():
        factories.incident(owner=owner, team=team)
        raise RuntimeError("the opening failed after the event was raised")
    assert not WebhookEvent.objects.exists()
    assert not Delivery.objects.exists()


def test_a_failing_endpoint_is_tried_again_until_it_answers(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    receiver.statuses.extend([503, 429])
    factories.incident(owner=owner, team=team)
    report = send()
    assert [r["status"] for r in receiver.received] == [503, 429, 200]
    assert report.sent == 1
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    # Each try is signed anew; the body, and the event id receivers dedupe by, stay the same.
    assert len({r["payload"]["id"] for r in receiver.received}) == 1


def test_an_endpoint_that_refuses_is_not_tried_again(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    receiver.statuses.append(404)
    factories.incident(owner=owner, team=team)
    send()
    delivery = Delivery.objects.get(channel="webhook")
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.error == "Webhook at 127.0.0.1 answered 404"
    assert engine.describe_address(delivery) == "Payments's webhook at 127.0.0.1"


def test_a_redirect_is_not_followed(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    receiver.statuses.extend([302, 302, 302])
    factories.incident(owner=owner, team=team)
    send()
    assert len(receiver.received) == 3  # nothing reached the address it pointed to
    assert Delivery.objects.get(channel="webhook").error == "Webhook at 127.0.0.1 answered 302"


def test_a_webhook_removed_after_queueing_fails_for_good(owner, team, receiver):
    hook = webhook(team, receiver, ["incident.opened"])
    factories.incident(owner=owner, team=team)
    hook.delete()
    send()
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == "failed"
    assert delivery.error == "the webhook was removed or switched off"
    assert receiver.received == []


def test_a_wrong_secret_is_refused_by_the_receiver(owner, team, receiver):
    webhook(team, receiver, ["incident.opened"])
    receiver.secret = "whsec_another_secret"
    factories.incident(owner=owner, team=team)
    send()
    assert [r["status"] for r in receiver.received] == [401]


def test_a_test_event_goes_to_the_one_webhook_whatever_it_chose(owner, team, receiver):
    hook = webhook(team, receiver, ["postmortem.published"])
    webhook_ping(hook)
    send()
    assert receiver.events() == ["ping"]


# Signatures ------------------------------------------------------------------------------


def test_a_signature_covers_the_timestamp_and_the_body():
    body = json.dumps({"event": "ping"}).encode()
    header = signature_header("s3cret", body, timestamp=1_700_000_000)
    assert signature_valid("s3cret", header, body, now=1_700_000_010)
    assert not signature_valid("s3cret", header, body + b" ", now=1_700_000_010)
    assert not signature_valid("other", header, body, now=1_700_000_010)
    moved = header.replace("t=1700000000", "t=1700000001")
    assert not signature_valid("s3cret", moved, body, now=1_700_000_010)


def test_an_old_signature_is_refused_as_a_replay():
    body = b"{}"
    header = signature_header("s3cret", body, timestamp=int(time.time()) - 301)
    assert not signature_valid("s3cret", header, body)


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1,v1=", "garbage"])
def test_a_malformed_signature_is_refused(header):
    assert not signature_valid("s3cret", header, b"{}", now=1)


# Where webhooks may point ------------------------------------------------------------------


def resolves_to(address: str):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return mock.patch.object(channels.socket, "getaddrinfo", autospec=True, side_effect=getaddrinfo)


@pytest.mark.parametrize(
    ("url", "address", "words"),
    [
        ("http://ops.example.com/hook", "93.184.216.34", "must start with https://"),
        ("https://u:p@ops.example.com/hook", "93.184.216.34", "no user name or password"),
        ("https://ops.example.com/hook", "10.0.0.5", "points to an internal address (10.0.0.5)"),
        ("https://metadata.example.com/", "169.254.169.254", "internal address"),
        ("https://127.0.0.1/hook", "127.0.0.1", "internal address"),
        ("https://ops.example.com:99999/", "93.184.216.34", "not a valid URL"),
    ],
)
def test_a_webhook_inside_the_network_or_without_https_is_refused(team, url, address, words):
    hook = TeamWebhook(team=team, url=url, events=["incident.opened"], secret="s")
    with resolves_to(address), pytest.raises(ValidationError) as raised:
        hook.full_clean()
    assert words in str(raised.value.message_dict["url"])


def test_a_public_https_webhook_is_accepted(team):
    hook = TeamWebhook(
        team=team, url="https://ops.example.com/hook", events=["incident.opened"], secret="s"
    )
    with resolves_to("93.184.216.34"):
        hook.full_clean()


def test_a_local_receiver_needs_the_test_only_setting(team, settings):
    assert settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER is False
    hook = TeamWebhook(team=team, url="http://127.0.0.1:9/x", events=["ping"], secret="s")
    with pytest.raises(ValidationError):
        hook.full_clean()


def test_a_url_that_now_points_inside_fails_at_send_time(owner, team, receiver, settings):
    webhook(team, receiver, ["incident.opened"])
    factories.incident(owner=owner, team=team)
    settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER = False
    send()
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.status == "failed"
    assert "must start with https://" in delivery.error
    assert receiver.received == []


def test_a_team_without_webhooks_costs_one_query(owner, team, django_assert_num_queries):
    incident = factories.incident(owner=owner, team=team)
    data = {"incident": incident_data(incident)}
    with django_assert_num_queries(1):
        assert webhook_event_raise(event="incident.opened", team=team, data=data) is None
