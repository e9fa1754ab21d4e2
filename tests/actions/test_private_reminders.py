"""Reminders about a private incident reach only people who may see it, and a team channel
hears that there is "a private incident", never its title."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from actions.nags import NagConfig, send_nags
from tests import factories
from tests.actions.conftest import MONDAY

pytestmark = pytest.mark.django_db

OVERDUE = MONDAY.date() - timedelta(days=3)


def run():
    with time_machine.travel(MONDAY, tick=False):
        return send_nags(config=NagConfig.from_settings(retry_seconds=0), sleep=lambda s: None)


def test_an_outsider_owning_an_item_of_a_private_incident_is_not_reminded(owner, outsider):
    secret = factories.incident(owner=owner, private=True, title="Leaked signing key")
    factories.action_item(secret, owner=outsider, title="Rotate the key", due_date=OVERDUE)
    normal = factories.incident(owner=owner)
    factories.action_item(normal, owner=outsider, title="Add an alert", due_date=OVERDUE)

    run()

    (message,) = mail.outbox
    assert message.to == ["eve@example.com"]
    assert "Add an alert" in message.body
    assert "Rotate the key" not in message.body and "Leaked signing key" not in message.body


def test_once_added_as_a_viewer_the_outsider_is_reminded(owner, outsider):
    secret = factories.incident(owner=owner, private=True)
    secret.viewers.add(outsider)
    factories.action_item(secret, owner=outsider, title="Rotate the key", due_date=OVERDUE)
    run()
    assert "Rotate the key" in mail.outbox[0].body


def test_a_team_channel_hears_of_a_private_incident_without_its_title(owner, team, slack_server):
    team.slack_webhook_url = slack_server.url
    team.save()
    secret = factories.incident(owner=owner, team=team, private=True, title="Leaked signing key")
    factories.action_item(secret, owner=owner, team=team, title="Rotate the key", due_date=OVERDUE)

    run()

    (payload,) = slack_server.payloads()
    assert "An action item of a private incident" in payload["text"]
    assert "/actions/" in payload["text"]  # with a link, for those who may follow it
    for secret_words in ("Rotate the key", "Leaked signing key", secret.ref):
        assert secret_words not in payload["text"]
    assert "Rotate the key" in mail.outbox[0].body  # the owner may see it: the e-mail says
