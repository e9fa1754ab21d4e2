"""After a save, the figures readers asked for are computed again in the background; until then
a reader is shown the earlier ones with a note, only when none of them could count an incident
hidden from that reader now."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from insights import cache
from insights.tasks import refresh_figures
from tests import factories
from tests.insights.test_cache import last_week, several

NOTE = "Figures as of"


@pytest.fixture
def queued():
    """What would go to the broker: the worker's run is `refresh_figures()`, called by the test."""
    with mock.patch.object(refresh_figures, "apply_async", autospec=True) as apply_async:
        yield apply_async


@pytest.fixture
def saved(django_capture_on_commit_callbacks):
    """Saves in a committed transaction, as a request makes them (the commit queues the refresh)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def page(client, params: dict | None = None):
    response = client.get(reverse("insights"), params or last_week())
    assert response.status_code == 200
    return response


def counted(response) -> int:
    severity = {f.key: f for f in response.context["figures"]}["severity"]
    return sum(row.values[0] for row in severity.rows)


def test_a_save_queues_one_refresh_that_computes_what_was_asked_for(
    owner_client, owner, queued, saved
):
    team = factories.team("Payments")
    several(owner, team, 2)
    assert counted(page(owner_client)) == 2
    with saved():
        several(owner, team, 1)
    queued.assert_called_once_with(countdown=cache.REFRESH_DELAY.total_seconds())

    assert refresh_figures() == "refreshed 1"  # what the worker runs

    with CaptureQueriesContext(connection) as queries:
        response = page(owner_client)
    assert not any("actions_actionitem" in q["sql"] for q in queries.captured_queries)
    assert counted(response) == 3
    assert response.context["as_of"] is None
    assert NOTE not in response.text


def test_until_the_refresh_ran_the_reader_gets_the_earlier_figures_with_a_note(
    owner_client, owner, queued, saved
):
    team = factories.team("Payments")
    several(owner, team, 2)
    page(owner_client)
    with saved():
        several(owner, team, 1)

    response = page(owner_client)
    assert counted(response) == 2
    assert response.context["as_of"] is not None
    note = response.text.split('class="updating-note" role="status">')[1].split("</p>")[0]
    assert note.startswith(NOTE)
    assert f"{response.context['as_of']:%H:%M}</time> (UTC), updating" in note

    refresh_figures()
    response = page(owner_client)
    assert (counted(response), response.context["as_of"]) == (3, None)


def test_the_download_is_never_the_earlier_figures(owner_client, owner, queued, saved):
    team = factories.team("Payments")
    several(owner, team, 2)
    page(owner_client)
    with saved():
        several(owner, team, 1)
    response = owner_client.get(reverse("insights-csv", args=["severity"]), last_week())
    rows = list(response.content.decode().splitlines())[2:]
    assert sum(int(row.split(",")[1]) for row in rows) == 3


def test_earlier_figures_are_shown_only_to_someone_of_the_same_scope(
    client, owner_client, owner, teammate, outsider, queued, saved
):
    team = factories.team("Security")
    team.members.add(owner, teammate)
    public, hidden = several(owner, team, 2)
    hidden.private = True
    hidden.save()
    assert counted(page(owner_client)) == 2  # the owner's scope sees the private one
    with saved():
        several(owner, team, 1)

    client.force_login(outsider)
    response = page(client)
    assert (counted(response), response.context["as_of"]) == (2, None)  # computed: 3 - 1 hidden

    client.force_login(teammate)
    response = page(client)
    assert counted(response) == 2  # the owner's earlier figures: the same incidents
    assert response.context["as_of"] is not None


def test_joining_a_team_never_shows_the_figures_of_the_scope_before(
    client, owner, outsider, queued, saved
):
    team = factories.team("Security")
    team.members.add(owner)
    _, hidden = several(owner, team, 2)
    hidden.private = True
    hidden.save()
    client.force_login(outsider)
    assert counted(page(client)) == 1
    with saved():
        team.members.add(outsider)
    queued.assert_called_once()
    response = page(client)
    assert (counted(response), response.context["as_of"]) == (2, None)
    with saved():
        team.members.remove(outsider)
    # Back in the first scope: its own earlier figures may be shown, never the team's.
    assert counted(page(client)) == 1


def test_an_incident_made_private_is_never_counted_in_earlier_figures(
    client, owner, outsider, queued, saved
):
    team = factories.team("Security")
    team.members.add(owner)
    _, later = several(owner, team, 2)
    client.force_login(outsider)
    assert counted(page(client)) == 2
    with saved():
        later.private = True
        later.save()
    # The outsider's scope names the same (no) private incidents, yet one left their sight.
    response = page(client)
    assert (counted(response), response.context["as_of"]) == (1, None)
    with saved():
        several(owner, team, 1)
    response = page(client)  # figures computed after the change may be shown again
    assert counted(response) == 1
    assert response.context["as_of"] is not None


def test_a_burst_of_saves_queues_one_refresh_and_a_later_save_another(
    owner_client, owner, queued, saved
):
    team = factories.team("Payments")
    page(owner_client)
    for _ in range(3):
        with saved():
            factories.incident(owner=owner, team=team)
    assert queued.call_count == 1
    assert refresh_figures() == "refreshed 1"
    with saved():
        factories.incident(owner=owner, team=team)
    assert queued.call_count == 2


def test_without_redis_and_a_worker_the_page_computes_after_a_save(
    settings, owner_client, owner, queued, saved
):
    settings.REDIS_URL = ""  # embedded mode: Celery runs tasks inline
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = factories.team("Payments")
    several(owner, team, 2)
    page(owner_client)
    with saved():
        several(owner, team, 1)
    response = page(owner_client)
    assert (counted(response), response.context["as_of"]) == (3, None)
    queued.assert_not_called()


def test_a_refresh_skips_people_gone_and_filters_no_longer_valid(
    client, owner, outsider, queued, saved
):
    team = factories.team("Payments")
    several(owner, team, 1)
    client.force_login(outsider)
    page(client, {**last_week(), "team": team.pk})
    outsider.is_active = False
    outsider.save()
    assert refresh_figures() == "refreshed 0"


def test_readers_do_not_keep_earlier_figures_alive_past_the_save(
    owner_client, owner, queued, saved
):
    team = factories.team("Payments")
    several(owner, team, 2)
    page(owner_client)
    with saved():
        several(owner, team, 1)
    marked = cache.cache.get(cache._pending_key())
    assert page(owner_client).context["as_of"] is not None
    assert cache.cache.get(cache._pending_key()) == marked  # the reader did not extend it
    # The refresh had its chance (UPDATING_FOR passed: Redis let the mark expire).
    cache.cache.delete(cache._pending_key())
    response = page(owner_client)
    assert (counted(response), response.context["as_of"]) == (3, None)


def test_when_the_broker_is_down_readers_compute_the_figures(owner_client, owner, queued, saved):
    queued.side_effect = OSError("Connection refused")
    team = factories.team("Payments")
    several(owner, team, 2)
    page(owner_client)
    with saved():
        several(owner, team, 1)
    response = page(owner_client)
    assert (counted(response), response.context["as_of"]) == (3, None)
