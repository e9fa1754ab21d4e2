"""The team page where a lead adds, tests, switches and removes the team's webhooks."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import TeamWebhook
from kernel.models import Delivery
from tests import factories
from tests.incidents.conftest import webhook

pytestmark = pytest.mark.django_db


def page(team) -> str:
    return reverse("team-webhooks", args=[team.slug])


def add(client, team, url, events=("incident.opened",), **extra):
    return client.post(page(team), {"url": url, "events": list(events), **extra})


def test_the_lead_adds_a_webhook_and_sees_its_secret_once(client, lead, team, receiver):
    client.force_login(lead)
    response = add(client, team, receiver.url, events=["incident.opened", "action_item.closed"])
    assert response.status_code == 200
    hook = TeamWebhook.objects.get()
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    assert hook.events == ["incident.opened", "action_item.closed"]
    assert hook.created_by == lead
    assert hook.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    again = client.get(page(team))
    assert hook.secret not in again.content.decode()
    assert receiver.url in again.content.decode()


def test_the_page_lists_the_events_to_choose_with_labels(client, lead, team):
    client.force_login(lead)
    html = client.get(page(team)).content.decode()
    for label in ("An incident is opened", "A postmortem is published", "becomes overdue"):
        assert label in html
    assert "A test event" not in html  # sent on request only, never chosen
    assert '<label for="id_url">Endpoint URL</label>' in html


@pytest.mark.parametrize(
    ("url", "events", "words"),
    [
        ("http://ops.example.com/hook", ["incident.opened"], "must start with https://"),
        ("https://ops.example.com/\x00", ["incident.opened"], "Null characters are not allowed"),
        ("https://ops.example.com/a\r\nX: y", ["incident.opened"], "Enter a valid URL"),
        ("https://ops.example.com/" + "a" * 600, ["incident.opened"], "at most 500 characters"),
        ("not a url", ["incident.opened"], "Enter a valid URL"),
        ("https://ops.example.com/hook", [], "This field is required"),
        ("https://ops.example.com/hook", ["incident.deleted"], "not one of the available"),
    ],
)
def test_bad_input_is_refused_in_words(client, lead, team, url, events, words):
    client.force_login(lead)
    response = add(client, team, url, events=events)
    assert response.status_code == 422
    assert words in response.content.decode()
    assert not TeamWebhook.objects.exists()


def test_a_member_who_is_not_the_lead_may_not_manage_webhooks(client, teammate, team, receiver):
    hook = webhook(team, receiver, ["incident.opened"])
    client.force_login(teammate)
    assert client.get(page(team)).status_code == 403
    assert add(client, team, receiver.url).status_code == 403
    delete = reverse("team-webhook-delete", args=[team.slug, hook.pk])
    assert client.post(delete).status_code == 403
    assert TeamWebhook.objects.count() == 1


def test_an_outsider_may_not_and_a_visitor_signs_in_first(client, outsider, team):
    client.force_login(outsider)
    assert client.get(page(team)).status_code == 403
    client.logout()
    response = client.get(page(team))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_an_admin_manages_any_teams_webhooks(client, team, receiver):
    # Admins are superusers; staff alone are not (see incidents/policy.py).
    client.force_login(factories.user("sasha", is_staff=True, is_superuser=True))
    assert add(client, team, receiver.url).status_code == 200


def test_an_unknown_team_is_not_found(client, lead):
    client.force_login(lead)
    assert client.get("/teams/no-such-team/webhooks/").status_code == 404


def test_another_teams_webhook_cannot_be_reached_through_mine(client, lead, team, receiver):
    other = factories.team("Platform", lead=lead)
    theirs = webhook(other, receiver, ["incident.opened"])
    client.force_login(lead)
    delete = reverse("team-webhook-delete", args=[team.slug, theirs.pk])
    assert client.post(delete).status_code == 404
    assert TeamWebhook.objects.filter(pk=theirs.pk).exists()


def test_a_test_event_is_sent_and_shown_in_the_recent_deliveries(client, lead, team, receiver):
    hook = webhook(team, receiver, ["incident.opened"])
    client.force_login(lead)
    response = client.post(reverse("team-webhook-test", args=[team.slug, hook.pk]), follow=True)
    assert "A test event is on its way to 127.0.0.1." in response.content.decode()
    delivery = Delivery.objects.get(channel="webhook")
    assert delivery.address == {"webhook": hook.pk, "team_name": "Payments", "host": "127.0.0.1"}
    assert "Waiting to send" in response.content.decode()


def test_switching_off_and_removing(client, lead, team, receiver):
    hook = webhook(team, receiver, ["incident.opened"])
    client.force_login(lead)
    client.post(reverse("team-webhook-switch", args=[team.slug, hook.pk]))
    hook.refresh_from_db()
    assert not hook.active
    response = client.post(reverse("team-webhook-test", args=[team.slug, hook.pk]), follow=True)
    assert "Switch the webhook on before sending it a test event." in response.content.decode()
    client.post(reverse("team-webhook-delete", args=[team.slug, hook.pk]))
    assert not TeamWebhook.objects.exists()


def test_the_pages_answer_only_the_methods_they_use(client, lead, team, receiver):
    hook = webhook(team, receiver, ["incident.opened"])
    client.force_login(lead)
    assert client.get(reverse("team-webhook-delete", args=[team.slug, hook.pk])).status_code == 405
    assert client.put(page(team)).status_code == 405
