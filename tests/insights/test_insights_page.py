"""The insights figures for a quarter worked out by hand (see conftest.py for the data)."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from tests import factories
from tests.insights.conftest import NOW, Q1, when

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def figures(client, **params) -> dict:
    response = client.get(reverse("insights"), {**Q1, **params})
    assert response.status_code == 200, response.content
    return {f.key: f for f in response.context["figures"]}


def rows(figure) -> dict:
    return {row.label: row.values for row in figure.rows}


def test_counts_by_severity_and_service(owner_client, quarter):
    found = figures(owner_client)
    assert rows(found["severity"]) == {"SEV1": [1], "SEV2": [2], "SEV3": [1]}
    assert rows(found["service"]) == {"api": [2], "db": [2]}


def test_median_and_p90_of_each_time_to_with_the_quarter_before(owner_client, quarter):
    found = rows(figures(owner_client)["time-to"])
    # Median, p90 (nearest rank), incidents measured, then the medians of Q2-Q4 2025.
    assert found["Time to detect"] == ["20m", "30m", 3, "—", "—", "50m"]
    assert found["Time to acknowledge"] == ["7m", "10m", 2, "—", "—", "—"]
    assert found["Time to mitigate"] == ["1h 05m", "1h 30m", 2, "—", "—", "—"]
    assert found["Time to resolve"] == ["2h 00m", "5h 00m", 3, "—", "—", "1h 40m"]


def test_postmortems_on_time_against_their_due_date(owner_client, quarter):
    found = rows(figures(owner_client)["postmortems"])
    assert found == {
        "Published by the due date": [1, "33%"],
        "Published after the due date": [1, "33%"],
        "Not published, past due": [1, "33%"],
        "Not published, not due yet": [0, "0%"],
    }


def test_action_item_figures_and_the_worth_it_no_rate(owner_client, quarter):
    found = rows(figures(owner_client)["actions"])
    assert found["Opened"] == [5, ""]
    assert found["Closed (done or won't do)"] == [3, ""]
    assert found["Still open"] == [2, ""]
    assert found["Median time to close"] == ["", "10d 0h"]
    assert found["Won't do, of those closed"] == [1, "33%"]
    assert found['Answered "was it worth it?" with no'] == [1, "50% of 2 answers"]
    assert found["Overdue 1–7 days"] == [1, ""]
    assert found["Overdue 8–30 days"] == [0, ""]
    assert found["Overdue 31–90 days"] == [1, ""]
    assert found["Overdue over 90"] == [0, ""]


def test_cause_categories_with_their_trend(owner_client, quarter):
    found = rows(figures(owner_client)["causes"])
    assert found == {
        "Capacity": [2, 0, 0, 0],
        "Change or deploy": [1, 0, 0, 0],
        "Not categorised yet": [1, 0, 0, 0],
    }


def test_filters_narrow_every_figure(owner_client, quarter):
    found = figures(owner_client, service=quarter.db.pk)
    assert rows(found["severity"]) == {"SEV2": [1], "SEV3": [1]}
    assert rows(found["actions"])["Opened"] == [0, ""]
    found = figures(owner_client, team=quarter.other.pk)
    assert found["severity"].rows == []


def test_a_month_and_dates_i_choose(owner_client, quarter):
    assert rows(figures(owner_client, period="month", on="2026-02-02")["severity"]) == {"SEV2": [1]}
    custom = figures(owner_client, period="custom", start="2026-01-01", end="2026-02-01")
    assert rows(custom["severity"]) == {"SEV1": [1], "SEV2": [1]}


def test_each_row_links_to_the_incidents_behind_it(owner_client, quarter):
    page = owner_client.get(reverse("insights"), Q1).content.decode()
    assert "bar=severity%3A2" in page
    listing = owner_client.get(reverse("insights-incidents"), {**Q1, "bar": "severity:2"})
    assert [i.pk for i in listing.context["page"]] == [quarter.three.pk, quarter.two.pk]
    overdue = owner_client.get(reverse("insights-incidents"), {**Q1, "bar": "items:overdue_31"})
    assert [i.pk for i in overdue.context["page"]] == [quarter.two.pk]
    worth_no = owner_client.get(reverse("insights-incidents"), {**Q1, "bar": "items:worth_no"})
    assert [i.pk for i in worth_no.context["page"]] == [quarter.one.pk]
    category = owner_client.get(reverse("insights-incidents"), {**Q1, "bar": "category:-"})
    assert [i.pk for i in category.context["page"]] == [quarter.three.pk]


def test_every_figure_downloads_as_csv(owner_client, quarter):
    response = owner_client.get(reverse("insights-csv", args=["severity"]), Q1)
    assert response["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["Period", "Q1 2026"],
        ["Severity", "Incidents"],
        ["SEV1", "1"],
        ["SEV2", "2"],
        ["SEV3", "1"],
    ]
    assert owner_client.get(reverse("insights-csv", args=["nothing"]), Q1).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"period": "quarter", "on": "0001-01-01"},
        {"period": "month", "on": "9999-12-31"},
        {"period": "custom", "start": "2026-03-01", "end": "2026-01-01"},
        {"period": "custom", "start": "2020-01-01", "end": "2026-01-01"},
        {"period": "custom"},
        {"period": "week"},
        {"on": "2026-02-30"},
        {"team": "99999999999999999999"},
        {"on": "2026\x00-01-01"},
    ],
)
def test_bad_filters_answer_400_in_words(owner_client, params, db):
    response = owner_client.get(reverse("insights"), params)
    assert response.status_code == 400
    assert "Please fix the filters" in response.content.decode()
    csv_response = owner_client.get(reverse("insights-csv", args=["severity"]), params)
    assert csv_response.status_code == 400


def test_the_page_asks_a_fixed_number_of_queries(
    owner_client, quarter, django_assert_max_num_queries
):
    # Session and user, the form's three choice lists, then the figures: more incidents must
    # not mean more queries.
    with django_assert_max_num_queries(30) as few:
        owner_client.get(reverse("insights"), Q1)
    for n in range(5):
        more = factories.incident(
            level=2, started_at=when("2026-02-10T00:00"), services=[quarter.api], team=quarter.team
        )
        factories.cause(more, f"Cause {n}")
        factories.action_item(more)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(reverse("insights"), Q1)
    assert {f.key: f for f in response.context["figures"]}["severity"].rows[1].values == [7]


def test_an_item_filed_as_already_done_took_no_time_to_close(owner_client, owner):
    incident = factories.incident(owner=owner, started_at=when("2026-04-09T10:00"))
    item = factories.action_item(incident, status="done", outcome="Done", worth_it="yes")
    assert item.closed_at <= item.created_at  # stamped a moment before it was created
    found = rows(figures(owner_client, period="month", on="2026-04-09")["actions"])
    assert found["Median time to close"] == ["", "0m"]
