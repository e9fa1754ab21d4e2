"""Input no person should send, answered with a 4xx in words, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents.models import Severity
from postmortems.models import Section

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "since",
    [
        "2026-13-45T25:61:00Z",  # the shape of a time, but no such moment
        "0001-01-01T00:00:00+14:00",  # before the start of time once in UTC
        "9999-12-31T23:59:59-12:00",  # past the end of time once in UTC
        "yesterday",
    ],
)
def test_changes_since_an_impossible_moment_is_400(owner_client, incident, since):
    response = owner_client.get(reverse("document-changes", args=[incident.ref]), {"since": since})
    assert response.status_code == 400
    assert "since" in response.json()["error"]


def test_changes_since_a_real_moment_still_answers(owner_client, incident):
    response = owner_client.get(
        reverse("document-changes", args=[incident.ref]), {"since": "2026-01-31T09:30:00"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["99999999999999999999", str(2**63)])
def test_a_review_page_beyond_any_range_is_400(owner_client, incident, page):
    response = owner_client.get(reverse("action-review"), {"group": "overdue", "page": page})
    assert response.status_code == 400
    assert f"There is no page {page}" in response.text


def _section(incident) -> Section:
    return incident.postmortem.sections.get(key="summary")


@pytest.mark.parametrize("version", ["-1", "0", str(2**31), "9" * 30])
def test_an_impossible_base_version_is_refused_on_save(owner_client, incident, version):
    section = _section(incident)
    url = reverse("block", args=[incident.ref, "section", section.pk])
    response = owner_client.post(url, {"body": "Text", "base_version": version})
    assert response.status_code == 422
    assert "This form carries a version no block can have" in response.text


@pytest.mark.parametrize("version", ["-1", "0", str(2**31), "9" * 30])
def test_an_impossible_base_version_is_refused_on_autosave(owner_client, incident, version):
    section = _section(incident)
    url = reverse("block-autosave", args=[incident.ref, "section", section.pk])
    response = owner_client.post(url, {"body": "Text", "base_version": version})
    assert response.status_code == 400
    assert response.json()["error"] == "The save carried a version no text can have."


def test_an_enormous_version_on_delete_is_refused(owner_client, incident):
    from tests import factories

    entry = factories.timeline_entry(incident)
    url = reverse("block-delete", args=[incident.ref, "entry", entry.pk])
    response = owner_client.post(url, {"base_version": "9" * 30})
    assert response.status_code == 400


def test_a_nul_character_in_an_autosaved_section_is_refused_in_words(owner_client, incident):
    section = _section(incident)
    url = reverse("block-autosave", args=[incident.ref, "section", section.pk])
    response = owner_client.post(url, {"body": "Half\x00way", "base_version": section.version})
    assert response.status_code == 400
    assert "NUL character" in response.json()["error"]
    section.refresh_from_db()
    assert "\x00" not in section.body


def test_a_share_link_expiring_in_year_9999_is_refused_in_words(owner_client, incident):
    response = owner_client.post(
        reverse("share-link-new", args=[incident.ref]),
        {"label": "Board", "expires_on": "9999-12-31"},
    )
    assert response.status_code == 422
    assert "Pick a day within five years" in response.text


@pytest.mark.parametrize(
    ("zone", "moment"),
    [
        ("Pacific/Kiritimati", "0001-01-01T00:00:00"),  # UTC+14: before year 1 in UTC
        ("Etc/GMT+12", "9999-12-31T23:59:59"),  # UTC-12: after year 9999 in UTC
        ("Etc/GMT+12", "0001-01-01T00:00:00"),
        ("Pacific/Kiritimati", "9999-12-31T23:59:59"),
    ],
)
def test_incident_times_at_the_ends_of_the_calendar_are_refused_in_words(
    owner_client, zone, moment
):
    owner_client.cookies["tz"] = zone
    response = owner_client.post(
        reverse("incident-new"),
        {
            "title": "Edge of time",
            "severity": Severity.objects.get(level=1).pk,
            "started_at": moment,
        },
    )
    assert response.status_code == 422
    assert "Pick a time between the years 1970 and 2999" in response.text


def test_timeline_times_at_the_ends_of_the_calendar_are_refused_in_words(owner_client, incident):
    owner_client.cookies["tz"] = "Pacific/Kiritimati"
    response = owner_client.post(
        reverse("block-new", args=[incident.ref, "entry"]),
        {"occurred_at": "0001-01-01T00:00:00", "kind": "note", "text": "Too early"},
    )
    assert response.status_code == 422
    assert "Pick a time between the years" in response.text
