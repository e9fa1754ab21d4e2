"""The insights figures are kept between saves, never stale and never another reader's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident
from incidents.policy import visibility_scope
from insights import cache
from postmortems.models import Postmortem
from tests import factories


def last_week() -> dict:
    today = timezone.localdate()
    return {"period": "custom", "start": (today - timedelta(6)).isoformat(), "end": today}


def figure(client, key: str, params: dict | None = None):
    response = client.get(reverse("insights"), params or last_week())
    assert response.status_code == 200
    return {f.key: f for f in response.context["figures"]}[key]


def incidents_counted(client, params: dict | None = None) -> int:
    return sum(row.values[0] for row in figure(client, "severity", params).rows)


def several(owner, team, n: int) -> list[Incident]:
    api = factories.service(f"api-{n}", team)
    made = []
    for i in range(n):
        incident = factories.incident(
            owner=owner, services=[api], team=team, started_at=timezone.now() - timedelta(hours=i)
        )
        factories.cause(incident)
        factories.action_item(incident)
        factories.action_item(incident, status=ActionItem.Status.DONE, worth_it="no")
        made.append(incident)
    return made


def page_queries(client) -> int:
    cache.bump()  # as after a save: the figures are computed, not read back
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("insights"), last_week()).status_code == 200
    return len(queries)


def test_the_page_asks_the_same_number_of_queries_for_3_or_30_incidents(owner_client, owner):
    team = factories.team("Payments")
    several(owner, team, 3)
    page_queries(owner_client)  # the first request of a session reads a little more
    few = page_queries(owner_client)
    several(owner, team, 27)
    assert page_queries(owner_client) == few
    assert few <= 30


def test_between_saves_the_page_reads_its_figures_back(owner_client, owner):
    several(owner, factories.team("Payments"), 2)
    page_queries(owner_client)
    with CaptureQueriesContext(connection) as queries:
        assert owner_client.get(reverse("insights"), last_week()).status_code == 200
    assert not any("actions_actionitem" in q["sql"] for q in queries.captured_queries)


def test_a_save_shows_at_once(owner_client, owner):
    team = factories.team("Payments")
    first, *_ = several(owner, team, 2)
    assert incidents_counted(owner_client) == 2
    several(owner, team, 1)
    assert incidents_counted(owner_client) == 3
    first.severity = factories.severity(3)
    first.save()
    rows = {row.label: row.values[0] for row in figure(owner_client, "severity").rows}
    assert rows == {"SEV1": 2, "SEV3": 1}
    item = ActionItem.objects.filter(incident=first, status=ActionItem.Status.OPEN).get()
    item.status = ActionItem.Status.WONT_DO
    item.wont_do_reason = "Covered by the new gateway"
    item.save()
    actions = {row.label: row.values for row in figure(owner_client, "actions").rows}
    assert actions["Won't do, of those closed"][0] == 1


def test_an_outsider_never_gets_the_figures_an_insider_filled_in(
    client, owner_client, owner, outsider
):
    team = factories.team("Security")
    team.members.add(owner)
    public, hidden = several(owner, team, 2)
    hidden.private = True
    hidden.save()
    assert incidents_counted(owner_client) == 2  # kept under the owner's visibility
    client.force_login(outsider)
    assert incidents_counted(client) == 1
    assert visibility_scope(owner) != visibility_scope(outsider)


def test_people_who_see_the_same_incidents_share_a_scope(owner, outsider, teammate):
    team = factories.team("Security")
    team.members.add(owner, teammate)
    hidden = factories.incident(owner=owner, team=team)
    hidden.private = True
    hidden.save()
    assert visibility_scope(owner) == visibility_scope(teammate) != visibility_scope(outsider)
    team.members.remove(teammate)
    assert visibility_scope(teammate) == visibility_scope(outsider)


def test_a_due_date_passing_moves_a_postmortem_to_past_due_without_a_save(owner_client, owner):
    incident, *_ = several(owner, factories.team("Payments"), 1)
    due = timezone.now() + timedelta(hours=2)
    Postmortem.objects.filter(incident=incident).update(due_at=due)
    cache.bump()  # that update bypassed save()
    rows = {row.label: row.values[0] for row in figure(owner_client, "postmortems").rows}
    assert rows["Not published, not due yet"] == 1
    with time_machine.travel(due + timedelta(minutes=1)):
        rows = {row.label: row.values[0] for row in figure(owner_client, "postmortems").rows}
    assert rows["Not published, past due"] == 1
    assert rows["Not published, not due yet"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_committed_save_bumps_the_version_again_after_the_commit(owner):
    before = cache.data_version()
    factories.incident(owner=owner)
    assert cache.data_version() > before + 1  # once at the save, once at the commit


def test_joining_the_team_counts_its_private_incident_at_once(client, owner, outsider):
    team = factories.team("Security")
    team.members.add(owner)
    _, hidden = several(owner, team, 2)
    hidden.private = True
    hidden.save()
    client.force_login(outsider)
    assert incidents_counted(client) == 1
    team.members.add(outsider)
    assert incidents_counted(client) == 2
    team.members.remove(outsider)
    assert incidents_counted(client) == 1


def test_signing_in_does_not_throw_the_figures_away(client, owner):
    before = cache.data_version()
    response = client.post(
        reverse("login"), {"username": owner.get_username(), "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert cache.data_version() == before


def test_a_viewer_in_another_zone_gets_the_periods_of_their_own_midnight(client, owner):
    today = timezone.localdate()
    start = today - timedelta(6)
    # 23:30 UTC the evening before the period: 00:30 on its first day in Berlin.
    late = timezone.make_aware(datetime.combine(start, datetime.min.time()), UTC) - timedelta(
        minutes=30
    )
    factories.incident(owner=owner, started_at=late)
    client.force_login(owner)
    params = {"period": "custom", "start": start.isoformat(), "end": today.isoformat()}
    client.cookies["tz"] = "Europe/Berlin"
    assert incidents_counted(client, params) == 1
    client.cookies["tz"] = "UTC"
    assert incidents_counted(client, params) == 0
