"""Impact and effort on action items, and "low effort, high impact first" in the lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories

pytestmark = pytest.mark.django_db

RATINGS = [
    ("Big rewrite", "high", "high"),
    ("Unrated", "", ""),
    ("Add the alert", "high", "low"),
    ("Tidy the runbook", "low", "low"),
]


@pytest.fixture
def rated(incident, owner):
    due = timezone.localdate() + timedelta(days=3)
    for title, impact, effort in RATINGS:
        factories.action_item(
            incident, title=title, owner=owner, due_date=due, impact=impact, effort=effort
        )
    return incident


def titles_in(html: str, marker: str, titles) -> list[str]:
    part = html.split(marker, 1)[1]
    return sorted(titles, key=part.index)


def test_the_document_lists_quick_wins_first_when_asked(owner_client, rated):
    titles = [title for title, _, _ in RATINGS]
    filed = owner_client.get(rated.get_absolute_url()).content.decode()
    assert titles_in(filed, 'id="actions"', titles) == titles
    assert "Low effort, high impact first</a>" in filed

    ranked = owner_client.get(f"{rated.get_absolute_url()}?actions=quick-wins").content.decode()
    assert titles_in(ranked, 'id="actions"', titles) == [
        "Add the alert",
        "Big rewrite",
        "Tidy the runbook",
        "Unrated",
    ]
    assert ranked.count('class="tag quick-win"') == 1
    assert "In the order filed</a>" in ranked


def test_the_review_sorts_quick_wins_first_when_asked(owner_client, rated):
    titles = [title for title, _, _ in RATINGS]
    by_date = owner_client.get("/actions/review/").content.decode()
    ranked = owner_client.get("/actions/review/?order=quick-wins").content.decode()
    marker = 'id="group-upcoming"'
    assert titles_in(ranked, marker, titles) == [
        "Add the alert",
        "Big rewrite",
        "Tidy the runbook",
        "Unrated",
    ]
    assert titles_in(by_date, marker, titles) != titles_in(ranked, marker, titles)
    assert ">Order</label>" in ranked


def test_an_unknown_order_is_ignored(owner_client, rated):
    response = owner_client.get("/actions/review/?order=%00drop")
    assert response.status_code == 200


def test_impact_and_effort_are_edited_on_the_item_page(owner_client, incident, owner):
    item = factories.action_item(incident, owner=owner)
    page = owner_client.get(f"/actions/{item.pk}/").content.decode()
    assert ">Impact</label>" in page and ">Effort</label>" in page and "Not rated" in page
