"""Milestones and the time-to metrics derived from them; picking them from the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEntry
from postmortems.picture import picture_context
from tests import factories


def at(incident: Incident, minutes: int):
    return incident.started_at + timedelta(minutes=minutes)


@pytest.fixture
def timed(owner):
    incident = factories.incident(owner=owner)
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=at(incident, 12),
        acknowledged_at=at(incident, 15),
        escalated_at=at(incident, 20),
        mitigated_at=at(incident, 47),
        resolved_at=at(incident, 95),
    )
    incident.refresh_from_db()
    return incident


def test_metrics_follow_the_milestones(timed):
    assert timed.time_to_detect == timedelta(minutes=12)
    assert timed.time_to_acknowledge == timedelta(minutes=3)
    assert timed.time_to_mitigate == timedelta(minutes=47)
    assert timed.time_to_resolve == timedelta(minutes=95)


def test_a_missing_milestone_leaves_its_metrics_unknown(owner):
    incident = factories.incident(owner=owner)
    incident.acknowledged_at = at(incident, 5)
    assert incident.time_to_detect is None
    # Acknowledging is measured from detection, so it stays unknown without it.
    assert incident.time_to_acknowledge is None
    assert incident.time_to_mitigate is None
    assert incident.time_to_resolve is None
    incident.detected_at = at(incident, 2)
    assert incident.time_to_acknowledge == timedelta(minutes=3)


def test_the_picture_has_a_phase_between_each_pair_of_milestones(timed):
    factories.timeline_entry(timed, minutes=30, kind=TimelineEntry.Kind.COMMUNICATION)
    picture = picture_context(timed)
    assert [(s.label, s.length) for s in picture["spans"]] == [
        ("Before anyone knew", timedelta(minutes=12)),
        ("Waiting for a responder", timedelta(minutes=3)),
        ("Responding", timedelta(minutes=5)),
        ("Responding, escalated", timedelta(minutes=27)),
        ("Mitigated, recovering", timedelta(minutes=48)),
    ]
    assert [s.width for s in picture["spans"]] == pytest.approx(
        [1000 * m / 95 for m in (12, 3, 5, 27, 48)], abs=0.2
    )
    kinds = {m.kind for m in picture["markers"]}
    assert TimelineEntry.Kind.COMMUNICATION in kinds


def test_the_document_header_shows_the_picture_and_the_metrics(owner_client, timed):
    page = owner_client.get(timed.get_absolute_url()).content.decode()
    assert 'class="incident-picture"' in page
    assert "<dt>Time to acknowledge</dt><dd>3m</dd>" in page
    assert "Mitigated, recovering <strong>48m</strong>" in page


def test_the_stakeholder_page_and_markdown_carry_the_picture(owner_client, timed):
    markdown = owner_client.get(reverse("export-markdown", args=[timed.ref])).content.decode()
    assert "## Milestones" in markdown
    assert "| Acknowledged |" in markdown
    assert "Waiting for a responder: 3m" in markdown


def test_picking_timeline_entries_sets_the_milestones(owner_client, owner):
    incident = factories.incident(owner=owner)
    detection = incident.timeline.get(kind=TimelineEntry.Kind.DETECTION)
    response = factories.timeline_entry(
        incident, minutes=9, kind=TimelineEntry.Kind.RESPONSE, text="Priya on it"
    )
    page = owner_client.get(reverse("milestones", args=[incident.ref]))
    assert page.status_code == 200
    # The first response entry is suggested for "acknowledged".
    assert page.context["form"]["acknowledged"].initial == str(response.pk)

    answer = owner_client.post(
        reverse("milestones", args=[incident.ref]),
        {"detected": str(detection.pk), "acknowledged": str(response.pk)},
    )
    assert answer.status_code == 302
    incident.refresh_from_db()
    assert incident.acknowledged_at == response.occurred_at
    assert incident.time_to_acknowledge == response.occurred_at - detection.occurred_at
    assert incident.history.first().history_user == owner


def test_a_pick_that_breaks_the_incident_rules_is_refused_in_words(owner_client, owner):
    incident = factories.incident(owner=owner)
    before = factories.timeline_entry(incident, minutes=-30, text="Deploy went out")
    answer = owner_client.post(
        reverse("milestones", args=[incident.ref]), {"mitigated": str(before.pk)}
    )
    assert answer.status_code == 422
    assert "cannot be before the incident started" in answer.content.decode()
    incident.refresh_from_db()
    assert incident.mitigated_at is None


def test_an_unknown_entry_is_refused(owner_client, owner):
    incident = factories.incident(owner=owner)
    answer = owner_client.post(
        reverse("milestones", args=[incident.ref]), {"resolved": "99999999999999999999"}
    )
    assert answer.status_code == 422
