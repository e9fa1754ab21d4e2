from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from api.tokens import api_token_create
from incidents import policy
from incidents.models import Incident, TimelineEntry
from tests import factories
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_list_pages_by_cursor_newest_first(reader, owner):
    made = [factories.incident(owner=owner, title=f"Outage {n}") for n in range(5)]
    first = reader.get("/incidents/", {"limit": 2}).json()
    assert [i["ref"] for i in first["items"]] == [made[4].ref, made[3].ref]
    second = reader.get("/incidents/", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = reader.get("/incidents/", {"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [i["ref"] for i in second["items"] + third["items"]] == [
        made[2].ref,
        made[1].ref,
        made[0].ref,
    ]
    assert third["next_cursor"] is None


def test_list_filters(reader, owner):
    team = factories.team("Payments")
    checkout = factories.incident(owner=owner, title="Checkout down", team=team, level=1)
    factories.incident(owner=owner, title="Search slow", level=3)
    assert [i["ref"] for i in reader.get("/incidents/", {"team": "payments"}).json()["items"]] == [
        checkout.ref
    ]
    assert [i["ref"] for i in reader.get("/incidents/", {"q": "checkout"}).json()["items"]] == [
        checkout.ref
    ]
    assert [i["ref"] for i in reader.get("/incidents/", {"severity": 1}).json()["items"]] == [
        checkout.ref
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage!"},
        {"limit": 0},
        {"limit": 10**30},
        {"severity": 99},
        {"q": "a\x00b"},
        {"started_after": "0001-01-01T00:00:00Z"},
        {"started_after": "9999-12-31T23:59:59-05:00"},
        {"started_after": "yesterday"},
        {"status": "on-fire"},
    ],
)
def test_bad_filters_answer_422_with_words(reader, params):
    response = reader.get("/incidents/", params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("The request is not valid")


def test_reading_asks_the_policy(reader, incident, monkeypatch):
    assert reader.get(f"/incidents/{incident.ref}/").json()["title"] == incident.title
    monkeypatch.setattr(policy, "visible_incidents", lambda user, qs=None: qs.none())
    response = reader.get(f"/incidents/{incident.ref}/")
    assert response.status_code == 404
    assert reader.get("/incidents/").json()["items"] == []
    assert reader.get(f"/incidents/{incident.ref}/timeline/").status_code == 404


def test_unknown_and_malformed_refs_answer_404(reader):
    assert reader.get("/incidents/INC-999999/").status_code == 404
    assert reader.get("/incidents/nonsense/").status_code == 404


def test_open_an_incident_as_the_page_does(writer, owner):
    service = factories.service("checkout")
    started = timezone.now() - timedelta(minutes=30)
    response = writer.post(
        "/incidents/",
        {
            "title": "Checkout 500s",
            "severity": 2,
            "started_at": started.isoformat(),
            "services": ["checkout"],
            "summary": "Error rate at 12% after the 14:02 deploy",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    incident = Incident.objects.get(number=int(body["ref"][4:]))
    assert body["owner"] == "priya" and body["services"] == ["checkout"]
    assert incident.postmortem.sections.exists()
    assert list(incident.services.all()) == [service]
    sources = list(incident.timeline.values_list("source", flat=True))
    assert sources == [TimelineEntry.Source.MANUAL, TimelineEntry.Source.API]
    assert incident.history.first().history_user == owner


def test_read_token_cannot_write(reader, incident):
    response = reader.post("/incidents/", {"title": "x", "severity": 1})
    assert response.status_code == 403
    assert "only read" in response.json()["detail"]
    response = reader.patch(f"/incidents/{incident.ref}/", {"version": 1, "title": "y"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "severity": 1},
        {"title": "a\x00", "severity": 1},
        {"title": "two\r\nlines", "severity": 1},
        {"title": "x", "severity": 10**40},
        {"title": "x", "severity": 1, "started_at": "0001-01-01T00:00:00+05:00"},
        {"title": "x", "severity": 1, "started_at": "9999-12-31T23:59:59-05:00"},
        {"title": "x", "severity": 1, "started_at": "2026-01-01T00:00:00"},
        {"title": "x", "severity": 1, "services": ["no-such-service"]},
        {"title": "x" * 201, "severity": 1},
    ],
)
def test_open_refuses_bad_input_with_422(writer, body):
    factories.severity(1)
    response = writer.post("/incidents/", body)
    assert response.status_code == 422, response.content
    assert response.json()["detail"]
    assert not Incident.objects.exists()


def test_not_json_answers_4xx(writer):
    response = writer.client.post(
        "/api/v1/incidents/", "{not json", content_type="application/json", headers=writer.headers
    )
    assert 400 <= response.status_code < 500


def test_update_from_a_stale_version_answers_409_and_changes_nothing(writer, incident):
    ok = writer.patch(f"/incidents/{incident.ref}/", {"version": 1, "status": "identified"})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = writer.patch(f"/incidents/{incident.ref}/", {"version": 1, "title": "Renamed"})
    assert stale.status_code == 409
    assert stale.json()["current"]["title"] == incident.title
    incident.refresh_from_db()
    assert incident.title != "Renamed" and incident.status == "identified"


def test_update_takes_the_version_from_if_match(writer, incident):
    response = writer.patch(
        f"/incidents/{incident.ref}/", {"title": "Renamed"}, **{"If-Match": '"1"'}
    )
    assert response.status_code == 200
    missing = writer.patch(f"/incidents/{incident.ref}/", {"title": "Again"})
    assert missing.status_code == 422 and "version" in missing.json()["detail"]


def test_update_validates_like_the_page(writer, incident):
    early = (incident.started_at - timedelta(hours=1)).isoformat()
    response = writer.patch(f"/incidents/{incident.ref}/", {"version": 1, "detected_at": early})
    assert response.status_code == 422
    assert "detected_at" in response.json()["detail"]


def test_managing_fields_need_can_manage(writer, incident, monkeypatch):
    monkeypatch.setattr(policy, "can_manage", lambda user, incident: False)
    response = writer.patch(f"/incidents/{incident.ref}/", {"version": 1, "private": True})
    assert response.status_code == 403
    assert (
        writer.patch(f"/incidents/{incident.ref}/", {"version": 1, "title": "T"}).status_code == 200
    )


def test_editing_asks_can_edit(writer, incident, monkeypatch):
    monkeypatch.setattr(policy, "can_edit", lambda user, incident: False)
    response = writer.post(
        f"/incidents/{incident.ref}/timeline/",
        {"occurred_at": timezone.now().isoformat(), "text": "x"},
    )
    assert response.status_code == 403


def test_timeline_add_and_update(writer, incident, owner):
    when = incident.started_at + timedelta(minutes=5)
    added = writer.post(
        f"/incidents/{incident.ref}/timeline/",
        {
            "occurred_at": when.isoformat(),
            "kind": "detection",
            "text": "Pager fired\r\nfor checkout",
        },
    )
    assert added.status_code == 201
    entry = added.json()
    assert entry["source"] == "api" and entry["added_by"] == "priya"
    changed = writer.patch(
        f"/incidents/{incident.ref}/timeline/{entry['id']}/", {"version": 1, "text": "Pager fired"}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    stale = writer.patch(
        f"/incidents/{incident.ref}/timeline/{entry['id']}/", {"version": 1, "text": "Other"}
    )
    assert stale.status_code == 409 and stale.json()["current"]["text"] == "Pager fired"
    listed = writer.get(f"/incidents/{incident.ref}/timeline/").json()
    assert [e["text"] for e in listed][-1] == "Pager fired"
    other = factories.incident(owner=owner)
    assert (
        writer.patch(
            f"/incidents/{other.ref}/timeline/{entry['id']}/", {"version": 2, "text": "x"}
        ).status_code
        == 404
    )


def test_writes_need_no_csrf_token_since_no_cookie_is_trusted(owner, incident):
    from django.test import Client

    from api.tokens import api_token_create

    token = api_token_create(user=owner, name="csrf", scope="write")[1]
    client = Client(enforce_csrf_checks=True)
    response = client.patch(
        f"/api/v1/incidents/{incident.ref}/",
        '{"version": 1, "title": "Renamed"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    # A logged-in browser session alone is no way in: the API reads only bearer tokens.
    client.force_login(owner)
    assert client.get("/api/v1/incidents/").status_code == 401


def test_list_queries_do_not_grow_with_incidents(reader, owner, django_assert_max_num_queries):
    for _ in range(3):
        factories.incident(owner=owner, services=[factories.service()])
    # Token, user, the policy's role look-up, the page of incidents and what it shows.
    with django_assert_max_num_queries(9) as few:
        assert len(reader.get("/incidents/").json()["items"]) == 3
    for _ in range(12):
        factories.incident(owner=owner, services=[factories.service()])
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(reader.get("/incidents/").json()["items"]) == 15


def test_a_private_incident_does_not_exist_for_a_token_of_someone_not_on_it(owner):

    private = factories.incident(owner=owner, title="Credential leak", private=True)
    factories.incident(owner=owner, title="Search slow")
    outsider = factories.user("outsider")
    theirs = ApiClient(api_token_create(user=outsider, name="script", scope="write")[1])

    titles = [item["title"] for item in theirs.get("/incidents/").json()["items"]]
    assert titles == ["Search slow"]
    for path in ("", "timeline/", "sections/", "causes/", "share-links/"):
        assert theirs.get(f"/incidents/{private.ref}/{path}").status_code == 404, path
    refused = theirs.patch(f"/incidents/{private.ref}/", {"title": "x", "version": 1})
    assert refused.status_code == 404
    private.refresh_from_db()
    assert private.title == "Credential leak"

    mine = ApiClient(api_token_create(user=owner, name="script", scope="read")[1])
    assert mine.get(f"/incidents/{private.ref}/").status_code == 200
