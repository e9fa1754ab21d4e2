"""The demo's year tells the story its docstring promises, on the insights page itself."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from insights import periods

FLAGSHIPS = [
    "Payment service outage: database connections exhausted",
    "Search results up to 40 minutes stale",
]

pytestmark = pytest.mark.django_db


def test_the_demo_year_shows_faster_detection_and_a_recurrence(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="demo"))
    today = timezone.localdate()
    first = periods.quarter_of(today, -4)
    year = {"period": "custom", "start": first.start.isoformat(), "end": today.isoformat()}
    response = client.get(reverse("insights"), year)
    figures = {f.key: f for f in response.context["figures"]}
    assert sum(row.values[0] for row in figures["severity"].rows) >= 50
    assert {row.label for row in figures["causes"].rows} >= {"Capacity", "Change or deploy"}
    assert figures["recurrence"].rows[0].values[0] >= 1
    assert figures["recurrence"].rows[1].values[0] >= 1  # came back while its fix was open
    # The flagship incidents were acknowledged, so their pictures show who answered when.
    assert all(
        i.acknowledged_at
        for i in Incident.objects.filter(title__in=FLAGSHIPS).only("acknowledged_at")
    )

    def median_detect(day) -> int:
        found = client.get(reverse("insights"), {"period": "quarter", "on": day.isoformat()})
        row = next(r for r in found.context["figures"][2].rows if r.label == "Time to detect")
        text = row.values[0]
        hours, _, minutes = text.rpartition("h ")
        return int(hours or 0) * 60 + int(minutes.rstrip("m"))

    early, late = periods.quarter_of(today, -3).start, periods.quarter_of(today, -1).start
    assert median_detect(late) * 2 < median_detect(early)
