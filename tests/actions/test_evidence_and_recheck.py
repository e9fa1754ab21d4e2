"""Closing as done asks for evidence; a re-check date brings done work back to the weekly review
and to its owner's reminders until someone says whether it is still working."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from actions.models import ActionItem, NagLine
from actions.nags import NagConfig, send_nags
from tests import factories
from tests.actions.conftest import MONDAY

pytestmark = pytest.mark.django_db

TODAY = MONDAY.date()
HTMX = {"HX-Request": "true"}
EVIDENCE = "https://github.com/acme/shop/pull/7"


@pytest.fixture(autouse=True)
def on_monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def done_item(incident, owner, *, recheck_on=TODAY, **fields):
    return factories.action_item(
        incident,
        owner=owner,
        title="Alert on pool saturation",
        status=ActionItem.Status.DONE,
        outcome="Pages at 80% of the pool",
        worth_it="yes",
        evidence_url=EVIDENCE,
        recheck_on=recheck_on,
        **fields,
    )


def closing(item, **fields) -> dict:
    return {
        "status": "done",
        "owner": item.owner_id,
        "due_date": "",
        "outcome": "Pages at 80% of the pool",
        "worth_it": "yes",
        "evidence_url": EVIDENCE,
        "base_version": item.version,
        **fields,
    }


# The re-check date when closing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "words"),
    [
        (TODAY.isoformat(), "Pick a day after today."),
        ("0001-01-01", "Pick a day after today."),
        ("9999-12-31", "Pick a day within the next three years."),
        ("2026-02-30", "YYYY-MM-DD"),
    ],
)
def test_a_recheck_date_lies_ahead_and_not_too_far(owner_client, owner, incident, day, words):
    item = factories.action_item(incident, owner=owner)
    response = owner_client.post(
        f"/actions/{item.pk}/update/", closing(item, recheck_on=day), headers=HTMX
    )
    assert response.status_code == 422
    assert words in response.content.decode()
    item.refresh_from_db()
    assert item.status == "open"


def test_closing_with_evidence_and_a_recheck_date(owner_client, owner, incident):
    item = factories.action_item(incident, owner=owner)
    in_a_month = (TODAY + timedelta(days=30)).isoformat()
    response = owner_client.post(
        f"/actions/{item.pk}/update/", closing(item, recheck_on=in_a_month), headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="{EVIDENCE}"' in html and f"re-check {in_a_month}" in html
    item.refresh_from_db()
    assert (item.evidence_url, item.recheck_on.isoformat()) == (EVIDENCE, in_a_month)


# The weekly review ---------------------------------------------------------------------------


def test_done_work_comes_back_to_the_review_on_its_recheck_day(owner_client, owner, incident):
    due = done_item(incident, owner, recheck_on=TODAY)
    done_item(incident, owner, recheck_on=TODAY + timedelta(days=1))
    html = owner_client.get("/actions/review/").content.decode()
    section = html.split('id="group-recheck"')[1].split("</section>")[0]
    assert section.count('class="action-row') == 1
    assert f'hx-get="/actions/{due.pk}/recheck/"' in section


def test_still_working_is_recorded_and_leaves_the_review(owner_client, owner, incident):
    item = done_item(incident, owner)
    form = owner_client.get(f"/actions/{item.pk}/recheck/", headers=HTMX).content.decode()
    assert ">Is it still working?" in form and ">What you looked at" in form

    refused = owner_client.post(
        f"/actions/{item.pk}/recheck/", {"base_version": item.version}, headers=HTMX
    )
    assert refused.status_code == 422
    assert "Say whether it is still working" in refused.content.decode()
    assert "Say what you looked at" in refused.content.decode()

    saved = owner_client.post(
        f"/actions/{item.pk}/recheck/",
        {"result": "working", "note": "The alert fired in last week's drill", "base_version": 1},
        headers=HTMX,
    )
    assert saved.status_code == 200
    item.refresh_from_db()
    assert (item.status, item.rechecked_on, item.version) == ("done", TODAY, 2)
    assert item.recheck_note == "The alert fired in last week's drill"
    assert item.history.latest().history_user == owner
    html = owner_client.get("/actions/review/").content.decode()
    assert "No finished work is waiting for a re-check." in html

    again = owner_client.get(f"/actions/{item.pk}/recheck/", headers=HTMX)
    assert again.status_code == 409


def test_not_working_reopens_the_item(owner_client, owner, incident):
    item = done_item(incident, owner)
    response = owner_client.post(
        f"/actions/{item.pk}/recheck/",
        {"result": "reopen", "note": "The alert was muted in October", "base_version": 1},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.closed_at, item.rechecked_on) == ("in_progress", None, TODAY)
    page = owner_client.get(f"/actions/{item.pk}/").content.decode()
    assert "Re-checked" in page and "The alert was muted in October" in page


def test_a_recheck_from_an_old_version_changes_nothing(owner_client, owner, incident):
    item = done_item(incident, owner)
    ActionItem.objects.filter(pk=item.pk).update(version=5)
    response = owner_client.post(
        f"/actions/{item.pk}/recheck/",
        {"result": "reopen", "note": "Broken", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 409
    item.refresh_from_db()
    assert item.status == "done"


@pytest.mark.parametrize("note", ["x" * 501, "\x00"])
def test_a_bad_note_is_refused_in_words(owner_client, owner, incident, note):
    item = done_item(incident, owner)
    response = owner_client.post(
        f"/actions/{item.pk}/recheck/",
        {"result": "working", "note": note, "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 422
    item.refresh_from_db()
    assert item.rechecked_on is None


def test_an_open_item_has_no_recheck(owner_client, owner, incident):
    item = factories.action_item(incident, owner=owner, recheck_on=TODAY)
    assert owner_client.get(f"/actions/{item.pk}/recheck/", headers=HTMX).status_code == 409
    assert owner_client.get("/actions/99999999/recheck/").status_code == 404


# Reminders -----------------------------------------------------------------------------------


def run():
    return send_nags(config=NagConfig.from_settings(retry_seconds=0), sleep=lambda s: None)


def test_the_owner_is_asked_on_the_recheck_day_then_every_seven_days(owner, incident):
    item = done_item(incident, owner, recheck_on=TODAY + timedelta(days=1))
    reminded = []
    for offset in range(10):
        before = len(mail.outbox)
        with time_machine.travel(MONDAY + timedelta(days=offset), tick=False):
            run()
        if len(mail.outbox) > before:
            reminded.append(offset)
    assert reminded == [1, 8]
    message = mail.outbox[0]
    assert message.to == ["priya@example.com"]
    assert message.subject == "Hindsight: 1 re-check due"
    assert "Is it still working?" in message.body and f"/actions/{item.pk}/" in message.body
    html = message.alternatives[0][0]
    assert "re-check due 2026-11-24" in html
    assert NagLine.objects.filter(reason="recheck", action_item=item).count() == 2


def test_a_recorded_recheck_stops_the_reminders(owner, incident):
    item = done_item(incident, owner)
    ActionItem.objects.filter(pk=item.pk).update(rechecked_on=TODAY)
    run()
    assert mail.outbox == []


def test_a_recheck_reminds_once_a_day_however_often_it_runs(owner, incident):
    done_item(incident, owner)
    run()
    run()
    assert len(mail.outbox) == 1
