"""Status updates: posted in three parts, in the timeline, and on their way to stakeholders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from incidents.models import StatusUpdate, TimelineEntry
from incidents.response import status_update_post
from kernel import delivery as engine
from kernel.models import Delivery
from postmortems.share_links import share_link_create
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)


@pytest.fixture
def open_incident(owner, settings, slack_server):
    settings.HINDSIGHT_SUMMARY_EMAILS = ["status@example.com", "execs@example.com"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = factories.team("Platform", slack_webhook_url=slack_server.url)
    with time_machine.travel(NOW - timedelta(minutes=20), tick=False):
        made = factories.incident(owner=owner, level=1, started_at=timezone.now(), team=team)
    factories.timeline_entry(made, minutes=2, text="Replica lag 9 minutes on db-7")
    made.postmortem.sections.filter(key="summary").update(body="Draft summary: db-7 ran dry")
    return made


def post(client, incident, **fields):
    data = {
        "known": "Checkout fails for some EU customers.",
        "doing": "Failing over to the standby database.",
        "next_update_at": "2026-12-02 13:30",
        "audience": "internal",
        **fields,
    }
    with time_machine.travel(NOW, tick=False):
        return client.post(
            reverse("incident-status-update", args=[incident.ref]), data, HTTP_HX_REQUEST="true"
        )


def test_an_update_becomes_a_communication_entry(owner_client, open_incident, owner):
    response = post(owner_client, open_incident)
    assert response.status_code == 200
    update = StatusUpdate.objects.get()
    assert (update.author, update.posted_at, update.next_update_at) == (
        owner,
        NOW,
        datetime(2026, 12, 2, 13, 30, tzinfo=UTC),
    )
    assert update.entry.kind == TimelineEntry.Kind.COMMUNICATION
    assert update.entry.occurred_at == NOW
    assert "What we know: Checkout fails for some EU customers." in update.entry.text
    assert "Posted. It is in the timeline." in response.content.decode()


def test_an_internal_update_goes_nowhere_else(owner_client, open_incident, slack_server):
    post(owner_client, open_incident)
    assert mail.outbox == []
    assert slack_server.received == []


def test_a_stakeholder_update_goes_to_the_summary_list_and_team_slack(
    owner_client, open_incident, slack_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(owner_client, open_incident, audience="stakeholders", known="Some <b>EU</b> & more")
    [message] = mail.outbox
    assert message.to == ["status@example.com", "execs@example.com"]
    assert message.subject == f"[SEV1] {open_incident.ref} {open_incident.title}: status update"
    assert "What we know: Some <b>EU</b> & more" in message.body
    assert "Next update by 2026-12-02 13:30 UTC." in message.body
    [payload] = slack_server.payloads()
    assert "Some &lt;b&gt;EU&lt;/b&gt; &amp; more" in payload["text"]
    update = StatusUpdate.objects.get()
    rows = Delivery.objects.filter(topic="status-update", subject_id=update.pk)
    assert sorted((d.channel, d.status) for d in rows) == [("email", "sent"), ("slack", "sent")]


def test_a_stakeholder_update_that_fails_for_now_is_retried(
    owner, open_incident, slack_server, settings
):
    settings.HINDSIGHT_DELIVERY_RETRY_SECONDS = 60
    slack_server.statuses.append(502)
    with time_machine.travel(NOW, tick=False):
        update = status_update_post(
            incident=open_incident,
            known="Some customers cannot check out.",
            doing="Failing over.",
            audience=StatusUpdate.Audience.STAKEHOLDERS,
            user=owner,
        )
        assert engine.deliver_due().sent == 1  # the e-mail; Slack answered 502
    slack = Delivery.objects.get(topic="status-update", subject_id=update.pk, channel="slack")
    assert (slack.status, slack.attempts, "502" in slack.error) == ("pending", 1, True)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert engine.deliver_due().sent == 1
    [payload] = slack_server.payloads()
    assert "Some customers cannot check out." in payload["text"]
    assert len(mail.outbox) == 1


def test_a_private_incidents_update_reaches_no_list_and_slack_hears_only_where(
    owner, open_incident, slack_server
):
    open_incident.private = True
    open_incident.save()
    with time_machine.travel(NOW, tick=False):
        status_update_post(
            incident=open_incident,
            known="Acme's data was exposed.",
            doing="Rotating keys.",
            audience=StatusUpdate.Audience.STAKEHOLDERS,
            user=owner,
        )
        engine.deliver_due()
    assert mail.outbox == []
    [payload] = slack_server.payloads()
    assert "a private incident" in payload["text"]
    assert "Acme" not in payload["text"] and open_incident.title not in payload["text"]
    assert f"/incidents/{open_incident.ref}/active/" in payload["text"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"known": ""}, "This field is required."),
        ({"doing": "x" * 2001}, "at most 2000 characters"),
        ({"audience": "everyone"}, "Select a valid choice"),
        ({"next_update_at": "2026-12-02 12:59"}, "later than now"),
        ({"next_update_at": "9999-01-01 10:00"}, "Pick a time between the years"),
        ({"next_update_at": "13:30 tomorrow"}, "Enter a time as HH:MM:SS (today)"),
        ({"known": "nul\x00here"}, "Null characters are not allowed"),
    ],
)
def test_bad_updates_are_answered_in_words(owner_client, open_incident, fields, message):
    response = post(owner_client, open_incident, **fields)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert StatusUpdate.objects.count() == 0


def test_a_live_updates_link_shows_stakeholder_updates_and_nothing_else_of_the_draft(
    client, open_incident, owner
):
    with time_machine.travel(NOW, tick=False):
        status_update_post(
            incident=open_incident,
            known="Internal: db-7 is out of disk",
            doing="Marcus is cleaning WAL files",
            audience=StatusUpdate.Audience.INTERNAL,
            user=owner,
        )
        status_update_post(
            incident=open_incident,
            known="Some customers cannot check out.",
            doing="We are moving traffic to a healthy database.",
            audience=StatusUpdate.Audience.STAKEHOLDERS,
            next_update_at=NOW + timedelta(minutes=30),
            user=owner,
        )
    _, token = share_link_create(
        postmortem=open_incident.postmortem, label="Acme", user=owner, kind="live_updates"
    )
    page = client.get(reverse("stakeholder", args=[token])).content.decode()
    assert "Some customers cannot check out." in page
    assert "We are moving traffic to a healthy database." in page
    assert "Something is wrong and we are finding out what." in page
    for secret in (
        "db-7",
        "WAL files",
        "Replica lag",
        "Draft summary",
        owner.first_name,
        owner.last_name,
        "Not published yet",
    ):
        assert secret not in page, secret


def test_a_postmortem_link_shows_no_updates(client, open_incident, owner):
    status_update_post(
        incident=open_incident,
        known="Some customers cannot check out.",
        doing="Failing over.",
        audience=StatusUpdate.Audience.STAKEHOLDERS,
        user=owner,
    )
    _, token = share_link_create(postmortem=open_incident.postmortem, label="Acme", user=owner)
    page = client.get(reverse("stakeholder", args=[token])).content.decode()
    assert "Some customers cannot check out." not in page
    assert "Not published yet" in page


def test_a_new_update_changes_what_an_open_live_updates_page_polls(client, open_incident, owner):
    _, token = share_link_create(
        postmortem=open_incident.postmortem, label="Acme", user=owner, kind="live_updates"
    )
    content = reverse("stakeholder-content", args=[token])
    seen = client.get(reverse("stakeholder", args=[token])).context["view"].fingerprint
    assert client.get(content, {"seen": seen}).status_code == 204
    status_update_post(
        incident=open_incident,
        known="Better now.",
        doing="Watching.",
        audience=StatusUpdate.Audience.STAKEHOLDERS,
        user=owner,
    )
    response = client.get(content, {"seen": seen})
    assert response.status_code == 200
    assert "Better now." in response.content.decode()


def test_a_live_updates_link_cannot_share_the_draft(owner_client, open_incident):
    response = owner_client.post(
        reverse("share-link-new", args=[open_incident.ref]),
        {"label": "Acme", "kind": "live_updates", "share_draft": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "never the working draft" in response.content.decode()


def test_the_admin_shows_how_a_stakeholder_update_went_out(client, owner, open_incident):
    with time_machine.travel(NOW, tick=False):
        update = status_update_post(
            incident=open_incident,
            known="Some customers cannot check out.",
            doing="Failing over.",
            audience=StatusUpdate.Audience.STAKEHOLDERS,
            user=owner,
        )
        engine.deliver_due()
    client.force_login(factories.user("root", is_staff=True, is_superuser=True))
    page = client.get(
        reverse("admin:incidents_statusupdate_change", args=[update.pk])
    ).content.decode()
    assert "status@example.com, execs@example.com by e-mail: Sent" in page
    assert "Platform on Slack: Sent" in page
