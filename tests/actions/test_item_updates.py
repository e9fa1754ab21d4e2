"""Changing an action item from a list, from its own page and from the postmortem page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.test import Client

from actions.models import ActionItem, ticket_key
from tests import factories
from tests.actions.conftest import MONDAY

pytestmark = pytest.mark.django_db

TODAY = MONDAY.date()
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def on_monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def item(incident, owner):
    return factories.action_item(
        incident, owner=owner, title="Alert on pool usage", due_date=TODAY - timedelta(days=3)
    )


def update(client, item, version=None, **fields):
    data = {
        "status": item.status,
        "owner": item.owner_id or "",
        "due_date": item.due_date.isoformat() if item.due_date else "",
        "base_version": version or item.version,
        **fields,
    }
    return client.post(f"/actions/{item.pk}/update/", data, headers=HTMX)


# Quick updates from a list ---------------------------------------------------------------


def test_the_update_form_opens_in_the_row(owner_client, item):
    response = owner_client.get(f"/actions/{item.pk}/update/", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<tr class="form-row"')
    for label in (
        "Status",
        "Owner",
        "Due date",
        "Why it won&#x27;t be done",
        "What changed",
        "Was it worth it?",
    ):
        assert f">{label}" in html, label
    assert 'name="base_version" value="1"' in html


def test_an_update_saves_a_version_with_history(owner_client, owner, teammate, item):
    response = update(
        owner_client, item, status="in_progress", owner=teammate.pk, due_date="2026-12-04"
    )
    assert response.status_code == 200
    assert "action-items-changed" in response["HX-Trigger"]
    html = response.content.decode()
    assert html.lstrip().startswith('<tr class="action-row action-in_progress"')
    assert "Marcus Webb" in html and "Saved." in html
    item.refresh_from_db()
    assert (item.status, item.owner, item.due_date, item.version) == (
        "in_progress",
        teammate,
        date(2026, 12, 4),
        2,
    )
    assert item.history.first().history_user == owner


def test_a_stale_update_overwrites_nothing(owner_client, teammate, item):
    assert update(owner_client, item, status="blocked").status_code == 200
    response = update(owner_client, item, version=1, owner=teammate.pk)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Someone changed this while you were editing." in html
    assert "<dt>Status</dt><dd>Blocked</dd>" in html
    assert 'name="base_version" value="2"' in html
    item.refresh_from_db()
    assert (item.status, item.owner_id, item.version) == ("blocked", item.owner_id, 2)
    assert item.owner != teammate


def test_wont_do_needs_a_reason(owner_client, item):
    response = update(owner_client, item, status="wont_do")
    assert response.status_code == 422
    assert "Say why it won&#x27;t be done" in response.content.decode()
    assert ActionItem.objects.get(pk=item.pk).status == "open"

    response = update(
        owner_client, item, status="wont_do", wont_do_reason="The old queue is being retired"
    )
    assert response.status_code == 200
    assert "Won't do: The old queue is being retired" in response.content.decode()


def test_done_asks_what_changed_and_whether_it_was_worth_it(owner_client, item):
    response = update(owner_client, item, status="done")
    html = response.content.decode()
    assert response.status_code == 422
    assert "Say what changed" in html and "Say whether it was worth it" in html
    assert "Link the evidence" in html

    for bad in ("not a link", "javascript:alert(1)", "ftp://files.example.com/x"):
        response = update(
            owner_client,
            item,
            status="done",
            outcome="Pages at 80% of the pool",
            worth_it="partly",
            evidence_url=bad,
        )
        assert response.status_code == 422, bad
        assert "Enter a valid URL" in response.content.decode()

    response = update(
        owner_client,
        item,
        status="done",
        outcome="Pages at 80% of the pool",
        worth_it="partly",
        evidence_url="https://grafana.example.com/d/pool",
    )
    assert response.status_code == 200
    item.refresh_from_db()
    assert (item.status, item.worth_it, item.closed_at) == ("done", "partly", MONDAY)

    reopened = update(owner_client, item, status="open")
    assert reopened.status_code == 200
    item.refresh_from_db()
    assert item.closed_at is None


def test_an_unknown_owner_is_refused_in_place(owner_client, item):
    response = update(owner_client, item, owner=987654)
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()


def test_cancel_brings_the_row_back(owner_client, item):
    response = owner_client.get(f"/actions/{item.pk}/row/", headers=HTMX)
    assert response.content.decode().lstrip().startswith('<tr class="action-row')
    assert owner_client.get("/actions/999999/row/").status_code == 404


# Snoozing --------------------------------------------------------------------------------


def test_snoozing_moves_the_date_with_a_recorded_reason(owner_client, owner, item):
    form = owner_client.get(f"/actions/{item.pk}/snooze/", headers=HTMX).content.decode()
    assert ">New due date" in form and ">Why it can wait" in form
    response = owner_client.post(
        f"/actions/{item.pk}/snooze/",
        {"until": "2026-12-14", "reason": "Waiting for the vendor's fix", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "Snoozed 1×: Waiting for the vendor&#x27;s fix" in response.content.decode()
    item.refresh_from_db()
    assert (item.due_date, item.snooze_reason, item.snooze_count, item.version) == (
        date(2026, 12, 14),
        "Waiting for the vendor's fix",
        1,
        2,
    )
    record = item.history.first()
    assert (record.history_user, record.due_date) == (owner, date(2026, 12, 14))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"until": "2026-11-23", "reason": "x"}, "Pick a day after today."),
        ({"until": "2026-12-01", "reason": "   "}, "Say why it can wait."),
        ({"until": "soon", "reason": "x"}, "Enter a date as YYYY-MM-DD"),
    ],
)
def test_a_snooze_needs_a_later_date_and_a_reason(owner_client, item, data, message):
    response = owner_client.post(
        f"/actions/{item.pk}/snooze/", {**data, "base_version": 1}, headers=HTMX
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert ActionItem.objects.get(pk=item.pk).version == 1


def test_a_stale_snooze_overwrites_nothing(owner_client, item):
    update(owner_client, item, due_date="2026-12-01")
    response = owner_client.post(
        f"/actions/{item.pk}/snooze/",
        {"until": "2026-12-24", "reason": "Holidays", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert "It is now due 2026-12-01" in response.content.decode()
    assert ActionItem.objects.get(pk=item.pk).due_date == date(2026, 12, 1)


def test_a_closed_item_cannot_be_snoozed(owner_client, incident):
    done = factories.action_item(incident, status="done", outcome="x", worth_it="yes")
    response = owner_client.post(
        f"/actions/{done.pk}/snooze/",
        {"until": "2026-12-24", "reason": "x", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert "This item is closed" in response.content.decode()


# An item's own page ----------------------------------------------------------------------


def test_an_items_page_shows_its_details_and_history(owner_client, owner, teammate, item):
    item.ticket_url = "https://github.com/acme/shop/issues/42"
    item.save()
    update(owner_client, item, status="in_progress", owner=teammate.pk)
    owner_client.post(
        f"/actions/{item.pk}/snooze/",
        {"until": "2026-12-14", "reason": "Vendor", "base_version": 2},
    )
    response = owner_client.get(item.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Alert on pool usage</h1>" in html
    assert ">shop#42</a>" in html
    assert "Snoozed</strong>" in html and "Created</strong>" in html
    assert "<del>Priya</del><ins>Marcus</ins>" in html
    assert html.index("Snoozed</strong>") < html.index("Created</strong>")


def test_the_items_page_saves_every_field(owner_client, team, item):
    data = {
        "title": "Alert on pool usage at 80%",
        "owner": item.owner_id,
        "team": team.pk,
        "due_date": "2026-12-01",
        "priority": 1,
        "kind": "detection",
        "status": "open",
        "ticket_url": "https://acme.atlassian.net/browse/OPS-7",
        "base_version": 1,
    }
    response = owner_client.post(item.get_absolute_url(), data)
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.team, item.priority, item.ticket_key) == (
        "Alert on pool usage at 80%",
        team,
        1,
        "OPS-7",
    )

    stale = owner_client.post(item.get_absolute_url(), {**data, "title": "Old view"})
    assert stale.status_code == 409
    assert "Someone changed this while you were editing." in stale.content.decode()

    bad = owner_client.post(
        item.get_absolute_url(),
        {**data, "base_version": 2, "ticket_url": "javascript:alert(1)"},
    )
    assert bad.status_code == 422
    assert "Enter a valid URL." in bad.content.decode()


def test_snoozing_from_the_items_page_comes_back_to_it(owner_client, item):
    response = owner_client.post(
        f"/actions/{item.pk}/snooze/",
        {"until": "2026-12-14", "reason": "Vendor", "base_version": 1},
    )
    assert response.status_code == 302
    assert response["Location"] == item.get_absolute_url()
    bad = owner_client.post(
        f"/actions/{item.pk}/snooze/", {"until": "", "reason": "", "base_version": 2}
    )
    assert bad.status_code == 422
    assert "This field is required." in bad.content.decode()


def test_anyone_logged_in_may_update_an_item(client, outsider, item):
    client.force_login(outsider)
    assert update(client, item, status="in_progress").status_code == 200
    assert item.history.first().history_user == outsider
    assert update(Client(), item, status="blocked", version=2).status_code == 302


def test_my_action_items_lists_open_then_closed(owner_client, owner, incident, item):
    factories.action_item(
        incident, owner=owner, title="Finished", status="done", outcome="x", worth_it="no"
    )
    factories.action_item(incident, title="Someone else's")
    html = owner_client.get("/actions/mine/").content.decode()
    assert html.index("Alert on pool usage") < html.index("Closed") < html.index("Finished")
    assert "Someone else" not in html
    assert "3 days overdue" in html


# The postmortem page ---------------------------------------------------------------------


def test_the_postmortem_page_edits_the_new_fields(owner_client, owner, incident, team, item):
    url = f"{incident.get_absolute_url()}action/{item.pk}/"
    form = owner_client.get(f"{url}edit/", headers=HTMX).content.decode()
    for label in ("Owning team", "Priority", "Ticket link", "What changed", "Was it worth it?"):
        assert f">{label}" in form, label
    data = {
        "title": item.title,
        "owner": owner.pk,
        "team": team.pk,
        "due_date": "2026-12-01",
        "priority": 1,
        "kind": "detection",
        "status": "done",
        "base_version": 1,
        "ticket_url": "https://linear.app/acme/issue/ENG-12/pool-alert",
    }
    refused = owner_client.post(url, data, headers=HTMX)
    assert refused.status_code == 422
    assert "Say what changed" in refused.content.decode()

    saved = owner_client.post(
        url,
        {
            **data,
            "outcome": "Pages before the pool is dry",
            "worth_it": "yes",
            "evidence_url": "https://github.com/acme/shop/pull/7",
        },
        headers=HTMX,
    )
    html = saved.content.decode()
    assert saved.status_code == 200
    assert ">ENG-12</a>" in html and ">P1</span>" in html
    assert "Outcome: Pages before the pool is dry · worth it: Yes" in html
    assert f'href="/actions/{item.pk}/"' in html


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://acme.atlassian.net/browse/OPS-42", "OPS-42"),
        (
            "https://acme.atlassian.net/jira/software/projects/OPS/boards/1?selectedIssue=OPS-9",
            "OPS-9",
        ),
        ("https://github.com/acme/shop/issues/42", "shop#42"),
        ("https://github.com/acme/shop/pull/7", "shop#7"),
        ("https://gitlab.com/acme/group/shop/-/issues/3", "shop#3"),
        ("https://linear.app/acme/issue/ENG-123/add-an-alert", "ENG-123"),
        ("https://tracker.example.com/tickets?id=5", "tracker.example.com"),
        ("", ""),
    ],
)
def test_a_ticket_link_shows_its_key(url, key):
    assert ticket_key(url) == key
