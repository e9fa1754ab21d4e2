from __future__ import annotations

import pytest

from postmortems.models import ConflictCopy, Section
from tests import factories

pytestmark = pytest.mark.django_db


def _summary(incident) -> Section:
    return incident.postmortem.sections.get(key="summary")


def test_sections_read(reader, incident):
    keys = [s["key"] for s in reader.get(f"/incidents/{incident.ref}/sections/").json()]
    assert "summary" in keys
    one = reader.get(f"/incidents/{incident.ref}/sections/summary/").json()
    assert one["version"] == 1 and one["title"]
    assert reader.get(f"/incidents/{incident.ref}/sections/nope/").status_code == 404


def test_section_write_with_current_version_saves_with_history(writer, incident, owner):
    response = writer.put(
        f"/incidents/{incident.ref}/sections/summary/", {"body": "Checkout failed.", "version": 1}
    )
    assert response.status_code == 200
    assert response.json() == {**response.json(), "version": 2, "merged": False}
    section = _summary(incident)
    assert section.body == "Checkout failed." and section.version == 2
    assert section.history.first().history_user == owner


def test_stale_section_write_merges_like_the_browser(writer, incident, teammate):
    from postmortems.editing import section_update

    section = _summary(incident)
    section_update(section, body="Line one.\n\nLine two.", base_version=1, user=teammate)
    section.refresh_from_db()
    section_update(section, body="Line one, by Marcus.\n\nLine two.", base_version=2, user=teammate)
    # The script started from version 2 and changed the second line only.
    response = writer.put(
        f"/incidents/{incident.ref}/sections/summary/",
        {"body": "Line one.\n\nLine two, from the script."},
        **{"If-Match": '"2"'},
    )
    assert response.status_code == 200
    assert response.json()["merged"] is True
    assert _summary(incident).body == "Line one, by Marcus.\n\nLine two, from the script."


def test_stale_section_write_that_cannot_merge_answers_409_and_overwrites_nothing(
    writer, incident, teammate
):
    from postmortems.editing import section_update

    section = _summary(incident)
    section_update(section, body="Theirs.", base_version=1, user=teammate)
    response = writer.put(
        f"/incidents/{incident.ref}/sections/summary/", {"body": "Mine.", "version": 1}
    )
    assert response.status_code == 409
    body = response.json()
    assert body["current"]["body"] == "Theirs." and body["current"]["version"] == 2
    assert _summary(incident).body == "Theirs."
    assert ConflictCopy.objects.get(pk=body["conflict_copy"]).text == "Mine."


@pytest.mark.parametrize(
    "body,headers",
    [
        ({"body": "x"}, {}),
        ({"body": "x", "version": 0}, {}),
        ({"body": "x", "version": 2**80}, {}),
        ({"body": "x"}, {"If-Match": "abc"}),
        ({"body": "x"}, {"If-Match": "99999999999999999999"}),
        ({"body": "nul\x00here", "version": 1}, {}),
        ({"body": "x" * 100_001, "version": 1}, {}),
    ],
)
def test_section_write_refuses_bad_input_with_422(writer, incident, body, headers):
    response = writer.put(f"/incidents/{incident.ref}/sections/summary/", body, **headers)
    assert response.status_code == 422, response.content
    assert _summary(incident).version == 1


def test_read_token_cannot_write_a_section(reader, incident):
    response = reader.put(
        f"/incidents/{incident.ref}/sections/summary/", {"body": "x", "version": 1}
    )
    assert response.status_code == 403


def test_causes_and_whys(writer, incident):
    made = writer.post(
        f"/incidents/{incident.ref}/causes/", {"statement": "The pool ran dry", "kind": "primary"}
    )
    assert made.status_code == 201
    cause = made.json()
    why = writer.post(
        f"/incidents/{incident.ref}/causes/{cause['id']}/whys/",
        {"question": "Why did the pool run dry?", "answer": "Sized for last year"},
    )
    assert why.status_code == 201
    changed = writer.patch(
        f"/incidents/{incident.ref}/whys/{why.json()['id']}/",
        {"version": 1, "evidence": "Grafana dashboard"},
    )
    assert changed.status_code == 200 and changed.json()["evidence"] == "Grafana dashboard"
    renamed = writer.patch(
        f"/incidents/{incident.ref}/causes/{cause['id']}/",
        {"version": 1, "statement": "The connection pool ran dry"},
    )
    assert renamed.status_code == 200
    stale = writer.patch(
        f"/incidents/{incident.ref}/causes/{cause['id']}/", {"version": 1, "kind": "contributing"}
    )
    assert stale.status_code == 409
    listed = writer.get(f"/incidents/{incident.ref}/causes/").json()
    assert listed[0]["statement"] == "The connection pool ran dry"
    assert listed[0]["whys"][0]["evidence"] == "Grafana dashboard"


def test_a_cause_of_another_incident_is_not_found(writer, incident, owner):
    other = factories.incident(owner=owner)
    cause = factories.cause(other)
    response = writer.patch(
        f"/incidents/{incident.ref}/causes/{cause.pk}/", {"version": 1, "statement": "x"}
    )
    assert response.status_code == 404
