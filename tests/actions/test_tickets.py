"""Action items and their tickets: one-click filing, and status brought back by each tracker's
webhook, against stand-ins of GitHub, GitLab and Jira on 127.0.0.1 that record every call."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from actions.models import ActionItem, Ticket, TrackerConnection
from actions.nags import NagConfig, send_nags
from actions.tickets import ticket_create
from hindsight.logs import RedactShareTokens
from kernel import delivery as engine
from kernel.crypto import encrypt
from kernel.models import Delivery
from kernel.trackers import TrackerError
from tests import factories
from tests.fakes import CREATED, tracker_stand_in

pytestmark = pytest.mark.django_db

PROJECTS = {"github": "acme/shop", "gitlab": "acme/shop", "jira": "OPS"}
KEYS = {"github": "shop#42", "gitlab": "shop#7", "jira": "OPS-12"}


@pytest.fixture
def fake_tracker(settings):
    settings.HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER = True
    with tracker_stand_in() as server:
        yield server


@pytest.fixture
def team(owner, teammate):
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    made = factories.team("Payments", lead=lead)
    made.members.set([owner, teammate, lead])
    return made


def connect(team, fake_tracker, kind: str, **fields) -> TrackerConnection:
    fields.setdefault("token_encrypted", encrypt("tok-123"))
    return TrackerConnection.objects.create(
        team=team,
        tracker=kind,
        base_url=fake_tracker.url,
        project=PROJECTS[kind],
        labels="postmortem, reliability",
        webhook_secret="hook-secret",
        **fields,
    )


def an_item(owner, team, **fields) -> ActionItem:
    incident = factories.incident(owner=owner, team=team, title="Checkout failing")
    return factories.action_item(
        incident, title="Size the pool from traffic", owner=owner, **fields
    )


def tracker_call(client, kind: str, payload: dict, *, secret: str = "hook-secret"):
    """Call the tracker's webhook as the tracker would, signed by its own scheme."""
    body = json.dumps(payload).encode()
    url = reverse("tracker-webhook", args=[kind, "payments"])
    headers = {}
    if kind == "github":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "issues"}
    elif kind == "gitlab":
        headers = {"X-Gitlab-Token": secret, "X-Gitlab-Event": "Issue Hook"}
    else:
        url += f"?secret={secret}"
    return client.post(url, data=body, content_type="application/json", headers=headers)


def closed(kind: str, *, reopened: bool = False, url: str | None = None) -> dict:
    if kind == "github":
        return {
            "action": "reopened" if reopened else "closed",
            "issue": {"number": 42, "html_url": url or "https://github.com/acme/shop/issues/42"},
            "repository": {"name": "shop", "full_name": "acme/shop"},
        }
    if kind == "gitlab":
        return {
            "object_kind": "issue",
            "project": {"path": "shop", "path_with_namespace": "acme/shop"},
            "object_attributes": {
                "iid": 7,
                "url": url or "https://gitlab.com/acme/shop/-/issues/7",
                "action": "reopen" if reopened else "close",
            },
        }
    category = "indeterminate" if reopened else "done"
    return {
        "webhookEvent": "jira:issue_updated",
        "issue": {"key": "OPS-12", "fields": {"status": {"statusCategory": {"key": category}}}},
        "changelog": {"items": [{"field": "status", "toString": "Done"}]},
    }


@pytest.mark.parametrize("kind", ["github", "gitlab", "jira"])
def test_one_click_files_the_ticket_and_links_it(client, owner, team, fake_tracker, kind):
    connect(team, fake_tracker, kind)
    item = an_item(owner, team)
    client.force_login(owner)
    response = client.post(reverse("action-ticket-new", args=[item.pk]), follow=True)
    assert f"Ticket {KEYS[kind]} created and linked." in response.content.decode()
    [call] = fake_tracker.calls
    assert call["path"] in CREATED
    if kind == "github":
        assert call["headers"]["Authorization"] == "Bearer tok-123"
        sent = call["body"]
        assert sent["labels"] == ["postmortem", "reliability"]
    elif kind == "gitlab":
        assert call["headers"]["Private-Token"] == "tok-123"
        sent = {**call["body"], "body": call["body"]["description"]}
        assert sent["labels"] == "postmortem,reliability"
    else:
        assert call["headers"]["Authorization"] == "Bearer tok-123"
        fields = call["body"]["fields"]
        assert fields["project"] == {"key": "OPS"}
        sent = {"title": fields["summary"], "body": fields["description"]}
    assert sent["title"] == "Size the pool from traffic"
    assert f"/actions/{item.pk}/" in sent["body"]
    assert "Checkout failing" in sent["body"]
    item.refresh_from_db()
    assert item.ticket.key == KEYS[kind]
    assert item.ticket_url == item.ticket.url
    assert item.version == 2
    assert item.history.first().ticket_url == item.ticket_url


@pytest.mark.parametrize("kind", ["github", "gitlab", "jira"])
def test_a_closed_ticket_asks_for_the_outcome_and_a_reopened_one_reopens(
    client, owner, team, fake_tracker, kind
):
    connect(team, fake_tracker, kind)
    item = an_item(owner, team)
    ticket_create(item=item, user=owner)

    response = tracker_call(client, kind, closed(kind))
    assert response.json() == {"result": "ticket closed; the owner is asked for the outcome"}
    item.refresh_from_db()
    assert item.status == "open"  # closing the loop needs the owner's words
    assert item.ticket.waiting_for_outcome
    engine.deliver_due()
    [asked] = mail.outbox
    assert asked.to == [owner.email]
    assert "what changed" in asked.subject and "worth it" in asked.body
    client.force_login(owner)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "waiting for the outcome" in page

    again = tracker_call(client, kind, closed(kind))
    assert again.json() == {"result": "already known to be closed"}
    assert len(Delivery.objects.filter(topic="ticket_closed")) == 1

    item.status, item.outcome, item.worth_it = "done", "Pool sized", "yes"
    item.save()
    reopened = tracker_call(client, kind, closed(kind, reopened=True))
    assert reopened.json() == {"result": "ticket reopened; the action item is open again"}
    item.refresh_from_db()
    assert item.status == "open"
    assert not item.ticket.waiting_for_outcome


@pytest.mark.parametrize("kind", ["github", "gitlab", "jira"])
def test_a_call_without_the_right_signature_changes_nothing(
    client, owner, team, fake_tracker, kind
):
    connect(team, fake_tracker, kind)
    item = an_item(owner, team)
    ticket_create(item=item, user=owner)
    response = tracker_call(client, kind, closed(kind), secret="guessed")
    assert response.status_code == 401
    assert "does not match" in response.json()["error"]
    item.ticket.refresh_from_db()
    assert item.ticket.closed_at is None


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("github", "https://github.com/acme/shop/issues/42"),
        ("gitlab", "https://gitlab.com/acme/shop/-/issues/7"),
        ("jira", "https://acme.atlassian.net/browse/OPS-12"),
    ],
)
def test_a_ticket_linked_by_hand_is_recognised(client, owner, team, fake_tracker, kind, url):
    connect(team, fake_tracker, kind)
    item = an_item(owner, team, ticket_url=url)
    response = tracker_call(client, kind, closed(kind))
    assert response.json()["result"] == "ticket closed; the owner is asked for the outcome"
    assert Ticket.objects.get().action_item == item


def test_another_teams_item_with_the_same_ticket_is_left_alone(client, owner, team, fake_tracker):
    connect(team, fake_tracker, "github")
    other = factories.team("Platform")
    an_item(owner, other, ticket_url="https://github.com/acme/shop/issues/42")
    response = tracker_call(client, "github", closed("github"))
    assert response.json() == {"result": "no action item has this ticket"}


def test_other_tracker_events_are_answered_and_ignored(client, owner, team, fake_tracker):
    connect(team, fake_tracker, "github")
    response = tracker_call(client, "github", {"zen": "Keep it simple.", "hook_id": 1})
    assert response.status_code == 200
    assert "Nothing to do" in response.json()["result"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/integrations/github/payments/webhook/", b"{not json", 400),
        ("/integrations/github/payments/webhook/", b"[1, 2]", 400),
        ("/integrations/github/nobody/webhook/", b"{}", 404),
        ("/integrations/svn/payments/webhook/", b"{}", 404),
    ],
)
def test_bad_webhook_calls_get_words_not_errors(client, team, fake_tracker, path, body, status):
    connect(team, fake_tracker, "github")
    digest = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    response = client.post(
        path,
        data=body,
        content_type="application/json",
        headers={"X-Hub-Signature-256": f"sha256={digest}"},
    )
    assert response.status_code == status
    assert response.json()["error"]


def test_the_webhook_answers_only_post(client, team, fake_tracker):
    connect(team, fake_tracker, "github")
    assert client.get("/integrations/github/payments/webhook/").status_code == 405


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "answered 401: the token was refused"),
        (404, "answered 404: the project was not found"),
        (503, "answered 503: try again in a minute"),
    ],
)
def test_a_tracker_that_says_no_is_explained_and_nothing_is_linked(
    client, owner, team, fake_tracker, status, words
):
    connect(team, fake_tracker, "github")
    item = an_item(owner, team)
    fake_tracker.statuses.append(status)
    client.force_login(owner)
    response = client.post(reverse("action-ticket-new", args=[item.pk]), follow=True)
    assert f"No ticket was created: GitHub Issues at 127.0.0.1 {words}" in response.content.decode()
    item.refresh_from_db()
    assert (item.ticket_url, Ticket.objects.count()) == ("", 0)


def test_an_unreachable_tracker_is_explained(owner, team, fake_tracker):
    connection = connect(team, fake_tracker, "jira")
    connection.base_url = "http://127.0.0.1:1"
    connection.save()
    with pytest.raises(TrackerError, match="Jira at 127.0.0.1 could not be reached"):
        ticket_create(item=an_item(owner, team), user=owner)


def test_the_token_can_come_from_the_environment(owner, team, fake_tracker, monkeypatch):
    connect(team, fake_tracker, "gitlab", token_encrypted="", token_env="HINDSIGHT_TEST_GITLAB")
    item = an_item(owner, team)
    with pytest.raises(TrackerError, match="HINDSIGHT_TEST_GITLAB .* is not set"):
        ticket_create(item=item, user=owner)
    monkeypatch.setenv("HINDSIGHT_TEST_GITLAB", "from-env")
    ticket_create(item=item, user=owner)
    assert fake_tracker.calls[0]["headers"]["Private-Token"] == "from-env"


def test_a_token_stored_under_another_key_asks_to_be_entered_again(owner, team, fake_tracker):
    connect(team, fake_tracker, "github", token_encrypted="gAAAAAnot-a-real-token")
    with pytest.raises(TrackerError, match="enter it again"):
        ticket_create(item=an_item(owner, team), user=owner)


def test_an_item_with_a_ticket_gets_no_second(owner, team, fake_tracker):
    connect(team, fake_tracker, "github")
    item = an_item(owner, team)
    ticket_create(item=item, user=owner)
    with pytest.raises(TrackerError, match="already has a ticket"):
        ticket_create(item=ActionItem.objects.get(pk=item.pk), user=owner)
    assert len(fake_tracker.calls) == 1


def test_an_item_of_a_team_without_a_tracker_is_told_so(owner, team):
    with pytest.raises(TrackerError, match="has not connected a ticket tracker"):
        ticket_create(item=an_item(owner, team), user=owner)


# The team's tracker page -----------------------------------------------------------------


def test_the_lead_connects_a_tracker_with_a_token_kept_encrypted(client, team, fake_tracker):
    client.force_login(team.lead)
    response = client.post(
        reverse("team-tracker", args=[team.slug]),
        {
            "tracker": "github",
            "base_url": fake_tracker.url,
            "project": "acme/shop",
            "token": "ghp_very_secret",
            "labels": "postmortem",
        },
    )
    assert response.status_code == 200
    connection = TrackerConnection.objects.get()
    assert "ghp_very_secret" not in connection.token_encrypted
    html = response.content.decode()
    assert connection.webhook_secret in html
    assert "/integrations/github/payments/webhook/" in html
    assert "ghp_very_secret" not in html
    assert (
        connection.webhook_secret
        not in client.get(reverse("team-tracker", args=[team.slug])).content.decode()
    )


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"base_url": "http://github.example.com"}, "must start with https://"),
        ({"token": ""}, "Give a token, or the name of the environment variable"),
        ({"token": "", "token_env": "lower case"}, "An environment variable name"),
        ({"tracker": "svn"}, "Select a valid choice"),
        ({"project": "acme\x00"}, "Null characters are not allowed"),
        ({"project": "a" * 201}, "at most 200 characters"),
    ],
)
def test_a_bad_connection_is_refused_in_words(client, team, fake_tracker, fields, words, settings):
    settings.HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER = False
    client.force_login(team.lead)
    data = {
        "tracker": "github",
        "base_url": "https://api.github.com",
        "project": "acme/shop",
        "token": "t",
        **fields,
    }
    with mock.patch(
        "kernel.channels.socket.getaddrinfo", return_value=[(2, 1, 6, "", ("140.82.112.6", 443))]
    ):
        response = client.post(reverse("team-tracker", args=[team.slug]), data)
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not TrackerConnection.objects.exists()


def test_only_the_lead_connects_the_teams_tracker(client, teammate, team):
    client.force_login(teammate)
    assert client.get(reverse("team-tracker", args=[team.slug])).status_code == 403
    assert client.post(reverse("team-tracker-remove", args=[team.slug])).status_code == 403


def test_the_owner_is_asked_again_every_week_until_the_outcome_is_given(
    client, owner, team, fake_tracker
):
    connect(team, fake_tracker, "github")
    item = an_item(owner, team)
    with time_machine.travel("2026-11-23 08:00Z", tick=False):
        ticket_create(item=item, user=owner)
        tracker_call(client, "github", closed("github"))
    config = NagConfig.from_settings(retry_seconds=0)
    asked_on = []
    for day in range(23, 32):
        with time_machine.travel(f"2026-11-{day:02} 09:00Z" if day <= 30 else "2026-12-01 09:00Z"):
            before = len(mail.outbox)
            send_nags(config=config, sleep=lambda s: None)
            send_nags(config=config, sleep=lambda s: None)  # a second run the same day
            engine.deliver_due()
            if len(mail.outbox) > before:
                asked_on.append(day)
    # The day it closed (by the webhook, not the daily run), then a week later, once.
    assert [m.subject for m in mail.outbox].count(mail.outbox[0].subject) == 2
    assert asked_on == [23, 30]
    item.status, item.outcome, item.worth_it = "done", "Pool sized", "partly"
    item.save()
    with time_machine.travel("2026-12-08 09:00Z"):
        send_nags(config=config, sleep=lambda s: None)
        engine.deliver_due()
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    "url", ["https://github.com/acme/shop/issues/4\x002", "https://github.com/" + "a" * 600]
)
def test_a_ticket_address_no_item_could_have_is_refused_in_words(client, team, fake_tracker, url):
    connect(team, fake_tracker, "github")
    response = tracker_call(client, "github", closed("github", url=url))
    assert response.status_code == 422
    assert "not one Hindsight could have linked" in response.json()["error"]


def test_a_body_too_large_is_refused(client, team, fake_tracker, settings):
    connect(team, fake_tracker, "github")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = tracker_call(client, "github", {"padding": "x" * 2000})
    assert response.status_code == 400


def test_a_secret_in_a_webhook_address_never_reaches_the_log(client, owner, team, fake_tracker):
    connect(team, fake_tracker, "jira")
    record = logging.LogRecord(
        "django.server",
        logging.WARNING,
        __file__,
        1,
        '"%s" %s %s',
        ("POST /integrations/jira/payments/webhook/?secret=hook-secret&x=1 HTTP/1.1", "401", "9"),
        None,
    )
    RedactShareTokens().filter(record)
    line = record.getMessage()
    assert "hook-secret" not in line
    assert "/integrations/jira/payments/webhook/?secret=[redacted]&x=1" in line
