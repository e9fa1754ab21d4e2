"""The weekly review page: its groups, filters, counts, paging, printing and weekly marks."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import ActionItem, WeeklyReview
from actions.review import PAGE_SIZE
from tests import factories
from tests.actions.conftest import MONDAY, people

pytestmark = pytest.mark.django_db

TODAY = MONDAY.date()
HTMX = {"HX-Request": "true"}
REVIEW = "/actions/review/"


@pytest.fixture(autouse=True)
def on_monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def days(n: int) -> timedelta:
    return timedelta(days=n)


def group(response, key: str) -> list[str]:
    found = next(g for g in response.context["groups"] if g.key == key)
    return [item.title for item in found.items]


def test_the_review_needs_a_login(incident):
    item = factories.action_item(incident)
    for url in (
        REVIEW,
        f"{REVIEW}print/",
        "/actions/mine/",
        "/actions/preferences/",
        item.get_absolute_url(),
        f"/actions/{item.pk}/update/",
        f"/actions/{item.pk}/snooze/",
        f"/actions/meetings/{incident.ref}/",
    ):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
    response = Client().post(f"/actions/{item.pk}/update/", {"status": "done"})
    assert response.status_code == 302
    assert Client().post(f"{REVIEW}mark/", {"team": 1}).status_code == 302


def test_items_land_in_their_groups(owner_client, owner, incident):
    old = factories.action_item(incident, owner=owner, title="Old", due_date=TODAY - days(20))
    factories.action_item(incident, owner=owner, title="Recent", due_date=TODAY - days(2))
    factories.action_item(incident, owner=owner, title="Soon", due_date=TODAY + days(3))
    factories.action_item(incident, owner=owner, title="Later", due_date=TODAY + days(30))
    factories.action_item(incident, owner=None, title="Nobody's", due_date=TODAY + days(30))
    factories.action_item(incident, owner=owner, title="Someday", due_date=None)
    factories.action_item(
        incident,
        owner=owner,
        title="Shipped",
        status="done",
        outcome="Alert added",
        worth_it="yes",
    )
    factories.action_item(
        incident,
        owner=owner,
        title="Dropped",
        status="wont_do",
        wont_do_reason="The service is retired",
    )
    with time_machine.travel(MONDAY - days(30), tick=False):
        factories.action_item(incident, owner=owner, title="Forgotten", due_date=TODAY + days(60))
        factories.action_item(
            incident, owner=owner, title="Long closed", status="done", outcome="x", worth_it="no"
        )
    ActionItem.objects.filter(pk=old.pk).update(updated_at=MONDAY - days(15))

    response = owner_client.get(REVIEW)
    assert response.status_code == 200
    assert group(response, "overdue") == ["Old", "Recent"]
    assert group(response, "upcoming") == ["Soon"]
    assert group(response, "orphans") == ["Nobody's", "Someday"]
    assert group(response, "stale") == ["Forgotten", "Old"]
    assert group(response, "closed") == ["Dropped", "Shipped"]
    assert response.context["counts"] == {
        "open": 7,
        "overdue": 2,
        "upcoming": 1,
        "orphans": 2,
        "stale": 2,
        "recheck": 0,
        "closed": 2,
    }
    page = response.content.decode()
    assert "20 days overdue" in page
    assert "Outcome: Alert added · worth it: Yes" in page
    assert "Won't do: The service is retired" in page
    assert f'href="{incident.get_absolute_url()}#action-{old.pk}"' in page


def test_filters_narrow_every_group(owner_client, owner, teammate, team):
    payments_incident = factories.incident(owner=owner, team=team, level=1)
    search = factories.service("search")
    other = factories.incident(owner=owner, level=3, services=[search])
    factories.action_item(
        payments_incident, owner=owner, title="Team by incident", due_date=TODAY - days(1)
    )
    factories.action_item(
        other, owner=teammate, title="Team by item", team=team, due_date=TODAY - days(1)
    )
    factories.action_item(other, owner=teammate, title="Elsewhere", due_date=TODAY - days(1))

    def overdue(**query):
        return sorted(group(owner_client.get(REVIEW, query), "overdue"))

    assert overdue(team=team.pk) == ["Team by incident", "Team by item"]
    assert overdue(owner=teammate.pk) == ["Elsewhere", "Team by item"]
    assert overdue(severity=payments_incident.severity_id) == ["Team by incident"]
    assert overdue(service=search.pk) == ["Elsewhere", "Team by item"]
    assert overdue(team=team.pk, owner=teammate.pk) == ["Team by item"]
    # A filter that is not valid shows everything rather than failing.
    assert len(overdue(team="nonsense")) == 3


def test_long_groups_are_paged_and_htmx_fetches_the_next_rows(owner_client, owner, incident):
    for n in range(PAGE_SIZE + 5):
        factories.action_item(
            incident, owner=owner, title=f"Late {n:02}", due_date=TODAY - days(40 - n)
        )
    response = owner_client.get(REVIEW)
    assert len(group(response, "overdue")) == PAGE_SIZE
    assert "Show more: overdue" in response.content.decode()

    more = owner_client.get(REVIEW, {"group": "overdue", "page": 2}, headers=HTMX)
    html = more.content.decode()
    assert more.status_code == 200
    assert html.count('class="action-row') == 5
    assert "Late 29" in html and "Late 24" not in html
    assert "Show more" not in html
    assert "<html" not in html


def test_counts_refresh_on_their_own(owner_client, owner, incident):
    factories.action_item(incident, owner=owner, due_date=TODAY - days(3))
    response = owner_client.get(REVIEW, headers={**HTMX, "HX-Target": "review-counts"})
    html = response.content.decode()
    assert html.lstrip().startswith('<nav id="review-counts"')
    assert 'Overdue <span class="count-badge hot">1</span>' in html


def test_the_page_escapes_what_people_typed(owner_client, owner, incident):
    factories.action_item(
        incident, owner=owner, title="<script>alert(1)</script>", due_date=TODAY - days(1)
    )
    html = owner_client.get(REVIEW).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_query_count_stays_the_same_with_ten_thousand_open_items(owner_client, owner, team):
    incidents = [factories.incident(owner=owner, team=team) for _ in range(5)]
    owners = [owner, *people(4)]

    def make(count: int, start: int = 0):
        ActionItem.objects.bulk_create(
            ActionItem(
                incident=incidents[n % 5],
                owner=owners[n % 5] if n % 7 else None,
                title=f"Item {n}",
                due_date=TODAY + days((n % 40) - 20) if n % 11 else None,
                status=["open", "in_progress", "blocked"][n % 3],
            )
            for n in range(start, start + count)
        )

    def queries(**query):
        with CaptureQueriesContext(connection) as captured:
            response = owner_client.get(REVIEW, query)
        assert response.status_code == 200
        return len(captured), response

    make(10)
    few, _ = queries()
    few_team, _ = queries(team=team.pk)

    make(10_000 - 10, start=10)
    assert ActionItem.objects.filter(status__in=ActionItem.OPEN_STATUSES).count() == 10_000
    many, response = queries()
    many_team, _ = queries(team=team.pk)
    # One query per group (six, the re-check group included), the counts, the accepted risks
    # to look at again, the page's own, and the top bar asking whether the account is
    # read-only (to offer "Open an incident").
    assert many == few <= 15
    assert many_team == few_team <= 18
    assert response.context["counts"]["open"] == 10_000
    assert all(len(g.items) <= PAGE_SIZE for g in response.context["groups"])
    assert response.content.decode().count('class="action-row') <= PAGE_SIZE * 5


def test_the_printable_version_lists_the_groups_without_controls(owner_client, owner, incident):
    factories.action_item(incident, owner=owner, title="Alert on pool", due_date=TODAY - days(4))
    response = owner_client.get(f"{REVIEW}print/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Action-item review, week of 23 Nov 2026" in html
    assert "Alert on pool" in html and "(4d late)" in html
    assert "Closed in the last 7 days (0)" in html
    assert "hx-get" not in html and "<button" not in html


# Marking the week reviewed ---------------------------------------------------------------


def test_a_team_member_marks_the_week_reviewed_once(client, teammate, owner, team):
    incident = factories.incident(owner=owner, team=team)
    factories.action_item(incident, owner=owner, due_date=TODAY - days(1))
    factories.action_item(incident, owner=owner, due_date=TODAY + days(9))
    client.force_login(teammate)

    page = client.get(REVIEW, {"team": team.pk}).content.decode()
    assert "Mark this week reviewed" in page
    response = client.post(f"{REVIEW}mark/", {"team": team.pk, "notes": "Two <b>left</b>"})
    assert response.status_code == 302
    assert response["Location"] == f"{REVIEW}?team={team.pk}"
    review = WeeklyReview.objects.get()
    assert (review.team, review.week, review.reviewed_by) == (team, TODAY, teammate)
    assert (review.open_count, review.overdue_count) == (2, 1)
    assert review.history.get().history_user == teammate

    page = client.get(REVIEW, {"team": team.pk}).content.decode()
    assert "Reviewed" in page and "Two &lt;b&gt;left&lt;/b&gt;" in page
    assert "Mark this week reviewed" not in page

    again = client.post(f"{REVIEW}mark/", {"team": team.pk, "notes": "again"}, follow=True)
    assert "already marked reviewed this week, by Marcus Webb" in again.content.decode()
    assert WeeklyReview.objects.count() == 1


def test_earlier_reviews_are_listed(owner_client, owner, team):
    WeeklyReview.objects.create(
        team=team,
        week=TODAY - days(7),
        notes="All on track",
        reviewed_by=owner,
        open_count=4,
        overdue_count=1,
    )
    page = owner_client.get(REVIEW, {"team": team.pk}).content.decode()
    assert "Earlier reviews" in page
    assert "Week of 16 Nov 2026" in page and "All on track" in page
    assert "4 open, 1 overdue" in page


def test_an_outsider_cannot_mark_a_teams_week(client, outsider, team):
    client.force_login(outsider)
    page = client.get(REVIEW, {"team": team.pk}).content.decode()
    assert "Only members of Payments and its lead mark its week reviewed." in page
    assert client.post(f"{REVIEW}mark/", {"team": team.pk}).status_code == 403
    assert not WeeklyReview.objects.exists()


def test_marking_needs_a_real_team(owner_client):
    assert owner_client.post(f"{REVIEW}mark/", {"team": "x"}).status_code == 404
    assert owner_client.post(f"{REVIEW}mark/", {"team": 999}).status_code == 404


def test_notes_that_are_too_long_are_refused_in_place(client, teammate, team):
    client.force_login(teammate)
    response = client.post(f"{REVIEW}mark/", {"team": team.pk, "notes": "x" * 5001})
    assert response.status_code == 422
    assert "Ensure this value has at most 5000 characters" in response.content.decode()
    assert not WeeklyReview.objects.exists()
