"""Every cause covered: an action item or an accepted risk addresses each cause, the causes
section says which, and the publish checklist names the ones left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hindsight import bus as bus_module
from kernel.live import document_channel
from postmortems.coverage import cause_coverage
from postmortems.document import document_for_ref
from postmortems.models import AcceptedRisk
from postmortems.publishing.checklist import missing, publish_checklist
from tests import factories
from tests.live import events_after

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def coverage_of(cause):
    return cause_coverage(cause).addressed_by


def test_a_cause_without_action_or_accepted_risk_is_not_covered(incident):
    cause = factories.cause(incident, "The pool ran dry")
    assert coverage_of(cause) == []


def test_an_action_item_addressing_the_cause_covers_it(incident):
    cause = factories.cause(incident, "The pool ran dry")
    factories.action_item(incident, title="Cap the pool", cause=cause)
    factories.action_item(incident, title="Unrelated clean-up")
    assert coverage_of(cause) == ["Action item: Cap the pool"]


def test_an_item_the_team_wont_do_does_not_cover_its_cause(incident):
    cause = factories.cause(incident, "The pool ran dry")
    factories.action_item(
        incident, title="Rewrite the pool", cause=cause, status="wont_do", wont_do_reason="Too big"
    )
    assert coverage_of(cause) == []


def test_an_accepted_risk_covers_its_cause(incident):
    cause = factories.cause(incident, "The vendor's DNS failed")
    factories.accepted_risk(cause, revisit_on=timezone.localdate() + timedelta(days=30))
    day = timezone.localdate() + timedelta(days=30)
    assert coverage_of(cause) == [f"Accepted risk, to look at again on {day:%Y-%m-%d}"]


def test_the_causes_section_shows_coverage(owner_client, incident):
    covered = factories.cause(incident, "The pool ran dry")
    factories.action_item(incident, title="Cap the pool", cause=covered)
    factories.cause(incident, "Nobody was paged at night")
    html = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Covered</span> by Action item: Cap the pool" in html
    assert html.count("Not covered</span>") == 1
    assert "Accept the risk" in html


def test_the_checklist_names_each_uncovered_cause_by_its_statement(incident, owner):
    factories.publishable(incident, owner)
    factories.cause(incident, "Nobody was paged at night")
    factories.cause(incident, "The runbook named a retired host")
    todo = missing(publish_checklist(document_for_ref(incident.ref)))
    assert todo == [
        "File an action item for each of these causes, or accept its risk on purpose (who "
        "accepts it, why, when to look again): “Nobody was paged at night”; “The runbook "
        "named a retired host”."
    ]


def test_coverage_costs_no_query_per_cause(owner_client, incident):
    def document_queries() -> int:
        cache.clear()  # the page as first rendered, every list loaded
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(incident.get_absolute_url()).status_code == 200
        return len(captured)

    cause = factories.cause(incident, "First")
    factories.action_item(incident, cause=cause)
    document_queries()  # the first visit also saves the session
    with_one = document_queries()
    for n in range(5):
        more = factories.cause(incident, f"Cause {n}")
        factories.accepted_risk(more)
        factories.action_item(incident, cause=more)
    assert document_queries() == with_one


# Accepting a risk on the page ----------------------------------------------------------------


def new_risk_url(incident) -> str:
    return f"{incident.get_absolute_url()}risk/new/"


def test_accepting_a_risk_asks_who_why_and_when_in_words(owner_client, owner, incident):
    cause = factories.cause(incident, "The vendor's DNS failed")
    form = owner_client.get(f"{new_risk_url(incident)}?cause={cause.pk}", headers=HTMX)
    html = form.content.decode()
    for label in (">Accepted by", ">Why it is accepted", ">Look at it again on"):
        assert label in html, label

    refused = owner_client.post(new_risk_url(incident), {"cause": cause.pk}, headers=HTMX)
    html = refused.content.decode()
    assert refused.status_code == 422
    assert "Say who accepts the risk" in html
    assert "Say why the team lives with it for now" in html
    assert "Pick the day to look at it again" in html

    today = timezone.localdate()
    for day, words in [
        (today.isoformat(), "Pick a day after today."),
        ("0001-01-01", "Pick a day after today."),
        ("9999-12-31", "Pick a day within the next two years."),
    ]:
        data = {"cause": cause.pk, "accepted_by": owner.pk, "reason": "Rare", "revisit_on": day}
        response = owner_client.post(new_risk_url(incident), data, headers=HTMX)
        assert response.status_code == 422, day
        assert words in response.content.decode(), day
    assert not AcceptedRisk.objects.exists()

    day = (today + timedelta(days=60)).isoformat()
    saved = owner_client.post(
        new_risk_url(incident),
        {
            "cause": cause.pk,
            "accepted_by": owner.pk,
            "reason": "A second DNS provider costs more than a yearly hour of downtime.",
            "revisit_on": day,
        },
        headers=HTMX,
    )
    assert saved.status_code == 200
    html = saved.content.decode()
    assert f'id="cause-{cause.pk}"' in html and "Covered</span> by Accepted risk" in html
    risk = AcceptedRisk.objects.get()
    assert (risk.cause, risk.accepted_by, risk.revisit_on.isoformat()) == (cause, owner, day)
    assert risk.history.get().history_user == owner


@pytest.mark.parametrize("cause_id", ["", "x", "1\x00", "99999999999999999999", "-1"])
def test_a_risk_for_no_cause_of_this_incident_is_not_found(owner_client, cause_id, incident):
    response = owner_client.get(f"{new_risk_url(incident)}?cause={cause_id}", headers=HTMX)
    assert response.status_code == 404


def test_a_risk_cannot_be_accepted_for_another_incidents_cause(owner_client, owner, incident):
    other = factories.cause(factories.incident(owner=owner), "Elsewhere")
    response = owner_client.get(f"{new_risk_url(incident)}?cause={other.pk}", headers=HTMX)
    assert response.status_code == 404


# Accepted risks come back ------------------------------------------------------------------


def test_risks_due_for_another_look_are_listed_in_the_weekly_review(owner_client, incident):
    today = timezone.localdate()
    soon = factories.accepted_risk(
        factories.cause(incident, "The card network was slow"), revisit_on=today + timedelta(3)
    )
    late = factories.accepted_risk(
        factories.cause(incident, "The vendor's DNS failed"), revisit_on=today - timedelta(2)
    )
    factories.accepted_risk(
        factories.cause(incident, "A far-off risk"), revisit_on=today + timedelta(60)
    )
    html = owner_client.get("/actions/review/").content.decode()
    part = html.split('id="risks-to-revisit"')[1].split("</section>")[0]
    assert part.index(f"#cause-{late.cause_id}") < part.index(f"#cause-{soon.cause_id}")
    assert f"since {late.revisit_on:%Y-%m-%d}" in part
    assert "A far-off risk" not in part

    other_team = factories.team("Search")
    filtered = owner_client.get(f"/actions/review/?team={other_team.pk}").content.decode()
    assert "No accepted risk is due for another look this week." in filtered


def test_open_pages_reread_the_causes_when_an_action_item_changes(
    owner_client, incident, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""  # the in-process bus, made new for this test
    bus_module._bus = None
    try:
        bus = bus_module.get_bus()
        cause = factories.cause(incident, "The pool ran dry")
        channel = document_channel(incident.pk)
        before = bus.last_id(channel)
        data = {"title": "Cap the pool", "cause": cause.pk, "priority": 2, "status": "open"}
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                f"{incident.get_absolute_url()}action/new/",
                {**data, "kind": "corrective"},
                headers=HTMX,
            )
        assert response.status_code == 200
        events = [e for _, e in events_after(bus, channel, before)]
        assert [(e["kind"], e["action"]) for e in events] == [
            ("action", "created"),
            ("cause", "refresh"),
        ]
        causes = owner_client.get(f"{incident.get_absolute_url()}cause/list/", headers=HTMX)
        assert "Covered</span> by Action item: Cap the pool" in causes.content.decode()
    finally:
        bus_module._bus = None
