from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from actions.models import ActionItem
from incidents import policy
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def items(incident, owner, teammate):
    today = timezone.localdate()
    team = factories.team("Platform")
    return {
        "late": factories.action_item(
            incident, title="Alert on pool", owner=owner, due_date=today - timedelta(days=3)
        ),
        "soon": factories.action_item(
            incident,
            title="Load test",
            owner=teammate,
            team=team,
            due_date=today + timedelta(days=3),
        ),
        "done": factories.action_item(
            incident,
            title="Raise pool",
            owner=owner,
            status=ActionItem.Status.DONE,
            outcome="Pool is 4x",
            worth_it="yes",
            due_date=today - timedelta(days=9),
        ),
    }


def _titles(response):
    return [item["title"] for item in response.json()["items"]]


def test_filters(reader, items):
    assert _titles(reader.get("/action-items/", {"overdue": "true"})) == ["Alert on pool"]
    assert _titles(reader.get("/action-items/", {"owner": "marcus"})) == ["Load test"]
    assert _titles(reader.get("/action-items/", {"team": "platform"})) == ["Load test"]
    assert _titles(reader.get("/action-items/", {"status": "done"})) == ["Raise pool"]
    assert _titles(reader.get("/action-items/", {"open": "true"})) == ["Alert on pool", "Load test"]


def test_cursor_pages(reader, items):
    first = reader.get("/action-items/", {"limit": 2}).json()
    second = reader.get("/action-items/", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_items_of_incidents_one_may_not_see_are_left_out(reader, items, monkeypatch):
    monkeypatch.setattr(policy, "visible_incidents", lambda user, qs=None: qs.none())
    assert reader.get("/action-items/").json()["items"] == []
    assert reader.get(f"/action-items/{items['late'].pk}/").status_code == 404


def test_closing_needs_the_outcome_as_on_the_page(writer, items):
    item = items["late"]
    refused = writer.patch(f"/action-items/{item.pk}/", {"version": 1, "status": "done"})
    assert refused.status_code == 422
    assert "outcome" in refused.json()["detail"] and "worth_it" in refused.json()["detail"]
    done = writer.patch(
        f"/action-items/{item.pk}/",
        {
            "version": 1,
            "status": "done",
            "outcome": "Alert added",
            "worth_it": "yes",
            "evidence_url": "https://git.example.com/ops/alerts/pull/12",
        },
    )
    assert done.status_code == 200
    item.refresh_from_db()
    assert item.status == "done" and item.closed_at is not None and item.version == 2
    stale = writer.patch(f"/action-items/{item.pk}/", {"version": 1, "status": "open"})
    assert stale.status_code == 409 and stale.json()["current"]["status"] == "done"


def test_read_token_cannot_update_and_unknown_owner_is_422(reader, writer, items):
    item = items["late"]
    assert (
        reader.patch(f"/action-items/{item.pk}/", {"version": 1, "status": "blocked"}).status_code
        == 403
    )
    response = writer.patch(f"/action-items/{item.pk}/", {"version": 1, "owner": "ghost"})
    assert response.status_code == 422


def test_huge_ids_and_bad_days_are_422(writer, items):
    assert writer.get(f"/action-items/{2**70}/").status_code == 422
    response = writer.patch(
        f"/action-items/{items['late'].pk}/", {"version": 1, "due_date": "0001-01-01"}
    )
    assert response.status_code == 422
