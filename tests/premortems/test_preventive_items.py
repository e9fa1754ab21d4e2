"""Preventive action items from a premortem: filed from the top groups, then followed up like
any other item — my items, the weekly review, reminders, the API, their own page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from actions.models import ActionItem
from actions.nags import NagConfig, send_nags
from api.tokens import api_token_create
from premortems.rounds import phase_advance, reason_add, vote_toggle
from tests import factories

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.com"


@pytest.fixture
def round_done():
    """A premortem voted on and closed, on the Monday of the tests."""
    with time_machine.travel(MONDAY - timedelta(days=10), tick=False):
        fran = factories.user("fran", first_name="Fran")
        ann = factories.user("ann", first_name="Ann")
        team = factories.team("Payments")
        team.members.add(ann)
        premortem = factories.premortem(
            facilitator=fran,
            team_=team,
            participants=[ann],
            title="Move orders to the new database",
        )
        reason_add(premortem=premortem, user=ann, text="The copy locks the orders table")
        for to in ("revealed", "grouping", "voting"):
            phase_advance(premortem=premortem, user=fran, to=to)
        group = premortem.groups.get()
        vote_toggle(premortem=premortem, user=ann, group=group)
        phase_advance(premortem=premortem, user=fran, to="done")
    premortem.refresh_from_db()
    return premortem, group, fran, ann


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def file_item(premortem, group, by, owner, due="2026-11-20"):
    url = reverse("premortem-action-item", args=[premortem.pk, group.pk])
    data = {"title": "Copy in batches", "owner": owner.pk, "due_date": due}
    return client_for(by).post(url, data)


def test_the_facilitator_files_a_preventive_item_from_a_group(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        response = file_item(premortem, group, fran, ann)
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.premortem, item.premortem_group, item.incident) == (premortem, group, None)
    assert (item.owner, item.kind, item.created_by) == (ann, "preventive", fran)
    assert item.history.get().history_user == fran
    page = client_for(ann).get(premortem.get_absolute_url()).content.decode()
    assert "Prevented by" in page and "Copy in batches" in page


def test_a_participant_may_not_file_items_and_the_vote_must_be_over(round_done):
    premortem, group, fran, ann = round_done
    assert file_item(premortem, group, ann, ann).status_code == 403
    earlier = factories.premortem(facilitator=fran, team_=premortem.team)
    other_group = earlier.groups.create(title="Too early")
    response = file_item(earlier, other_group, fran, ann, due="2099-01-01")
    assert response.status_code in (409, 422)
    assert not ActionItem.objects.exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"due_date": "0001-01-01"}, "Pick today or a day after it"),
        ({"due_date": "9999-12-31"}, "within the next three years"),
        ({"due_date": "tomorrow"}, "Enter a date as YYYY-MM-DD"),
        ({"title": "Two\r\nlines"}, "one line"),
        ({"title": "Nul\x00"}, "Null characters are not allowed"),
        ({"title": "x" * 301}, "at most 300 characters"),
        ({"owner": "999999"}, "Select a valid choice"),
    ],
)
def test_bad_items_are_refused_in_words(round_done, data, words):
    premortem, group, fran, ann = round_done
    url = reverse("premortem-action-item", args=[premortem.pk, group.pk])
    tomorrow = (MONDAY + timedelta(days=1)).date().isoformat()
    with time_machine.travel(MONDAY):
        response = client_for(fran).post(
            url, {"title": "Copy in batches", "owner": ann.pk, "due_date": tomorrow, **data}
        )
    assert response.status_code == 422
    assert words in response.content.decode()


def test_an_overdue_preventive_item_is_nagged_and_shown_in_the_weekly_review(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann, due="2026-11-20")
    with time_machine.travel(MONDAY, tick=False):
        send_nags(config=NagConfig.from_settings(retry_seconds=0), sleep=lambda s: None)
        review = client_for(fran).get("/actions/review/").content.decode()
        mine = client_for(ann).get("/actions/mine/").content.decode()
        dashboard = client_for(ann).get("/").content.decode()
    (message,) = mail.outbox
    assert message.to == ["ann@example.com"]
    assert "Copy in batches" in message.body
    assert "Premortem: Move orders to the new database" in message.body
    assert "Copy in batches" in review and "Move orders to the new database" in review
    assert "Premortem" in review
    assert "Copy in batches" in mine and "Copy in batches" in dashboard


def test_an_item_without_an_owner_reminds_the_facilitator(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    ann.is_active = False
    ann.save()
    with time_machine.travel(MONDAY, tick=False):
        send_nags(config=NagConfig.from_settings(retry_seconds=0), sleep=lambda s: None)
    assert [m.to for m in mail.outbox] == [["fran@example.com"]]


def test_the_review_filtered_by_team_finds_the_premortems_items(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    page = client_for(fran).get("/actions/review/", {"team": premortem.team.pk}).content.decode()
    assert "Copy in batches" in page


def test_items_of_a_private_premortem_stay_with_those_who_may_see_it(round_done):
    premortem, group, fran, ann = round_done
    premortem.private = True
    premortem.save()
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    item = ActionItem.objects.get()
    outsider = client_for(factories.user("otto"))
    assert "Copy in batches" not in outsider.get("/actions/review/").content.decode()
    assert outsider.get(reverse("action-item", args=[item.pk])).status_code == 404
    assert client_for(ann).get(reverse("action-item", args=[item.pk])).status_code == 200


def test_the_api_lists_and_updates_a_preventive_item(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    item = ActionItem.objects.get()
    token = api_token_create(user=ann, name="script", scope="write")[1]
    headers = {"Authorization": f"Bearer {token}"}
    listed = Client().get("/api/v1/action-items/", headers=headers).json()["items"]
    assert [(i["id"], i["incident"]) for i in listed] == [(item.pk, None)]
    assert listed[0]["premortem"]["title"] == "Move orders to the new database"
    changed = Client().patch(
        f"/api/v1/action-items/{item.pk}/",
        json.dumps({"status": "in_progress", "version": item.version}),
        content_type="application/json",
        headers=headers,
    )
    assert changed.status_code == 200, changed.content
    item.refresh_from_db()
    assert item.status == "in_progress"
    outsider = api_token_create(user=factories.user("otto"), name="x", scope="read")[1]
    premortem.private = True
    premortem.save()
    hidden = Client().get(
        f"/api/v1/action-items/{item.pk}/", headers={"Authorization": f"Bearer {outsider}"}
    )
    assert hidden.status_code == 404


def test_the_item_page_names_its_premortem_and_saves_with_history(round_done):
    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    item = ActionItem.objects.get()
    page = client_for(ann).get(reverse("action-item", args=[item.pk])).content.decode()
    assert "Premortem: Move orders to the new database" in page
    assert "Premortem facilitator" in page


def test_webhooks_and_tickets_describe_the_premortem_an_item_follows(round_done):
    from actions.tickets import ticket_draft
    from actions.webhook_events import item_team, subject_data

    premortem, group, fran, ann = round_done
    with time_machine.travel(MONDAY - timedelta(days=9)):
        file_item(premortem, group, fran, ann)
    item = ActionItem.objects.get()
    assert item_team(item) == premortem.team
    data = subject_data(item)
    assert data["premortem"]["title"] == "Move orders to the new database"
    assert "incident" not in data
    draft = ticket_draft(item, labels=["hindsight"])
    assert "premortem of “Move orders to the new database”" in draft.body
    assert f"/premortems/{premortem.pk}/" in draft.body
