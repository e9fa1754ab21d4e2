"""A private incident is absent from every figure, list, export and search for an outsider.

The rule comes from incidents.policy (a private incident is read by its team, its responders
and admins only); these pages must ask it rather than decide for themselves.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident
from insights.models import Recurrence
from tests import factories

SECRET = "zanzibar"


@pytest.fixture
def setting(owner, outsider):
    team = factories.team("Security")
    team.members.add(owner)
    api = factories.service("api", team)
    public = factories.incident(owner=owner, title="Login slow", services=[api], team=team)
    hidden = factories.incident(
        owner=owner,
        title=f"Credential leak {SECRET}",
        services=[api],
        team=team,
        level=1,
        started_at=timezone.now() - timedelta(days=3),
    )
    Incident.objects.filter(pk=hidden.pk).update(private=True)
    hidden.refresh_from_db()
    factories.timeline_entry(hidden, text=f"Rotated the {SECRET} keys")
    factories.cause(hidden, f"Token logged in {SECRET} service")
    factories.action_item(hidden, title=f"Scrub {SECRET} logs")
    Recurrence.objects.create(incident=public, earlier=hidden, decision="confirmed")
    return {"public": public, "hidden": hidden, "team": team}


def as_outsider(client, outsider):
    client.force_login(outsider)
    return client


def this_month() -> dict:
    """The last week: both incidents, and the three weeks before it in the trend."""
    today = timezone.localdate()
    return {"period": "custom", "start": (today - timedelta(6)).isoformat(), "end": today}


def test_the_owner_sees_it_everywhere(owner_client, setting):
    response = owner_client.get(reverse("insights"), this_month())
    severity = {f.key: f for f in response.context["figures"]}["severity"]
    assert sum(row.values[0] for row in severity.rows) == 2
    assert owner_client.get(reverse("search"), {"q": SECRET}).context["results"].total >= 3


def test_an_outsider_finds_it_nowhere(client, outsider, setting):
    client = as_outsider(client, outsider)
    hidden, public = setting["hidden"], setting["public"]

    response = client.get(reverse("insights"), this_month())
    figures = {f.key: f for f in response.context["figures"]}
    assert [(r.label, r.values) for r in figures["severity"].rows] == [("SEV1", [1])]
    assert [r.values[0] for r in figures["actions"].rows][:3] == [0, 0, 0]
    assert figures["causes"].rows == []
    assert [r.values for r in figures["recurrence"].rows] == [[0], [0]]
    assert SECRET not in response.content.decode()

    csv_text = client.get(reverse("insights-csv", args=["severity"]), this_month()).content
    assert b"SEV1,1" in csv_text
    listing = client.get(reverse("insights-incidents"), {**this_month(), "bar": "severity:1"})
    assert list(listing.context["page"]) == [public]

    results = client.get(reverse("search"), {"q": SECRET})
    assert results.context["results"].total == 0
    assert hidden.ref not in results.content.decode()

    seen = client.get(reverse("recurrence", args=[public.ref]), HTTP_HX_REQUEST="true")
    assert hidden.ref not in seen.content.decode()
    assert client.get(reverse("recurrence", args=[hidden.ref])).status_code == 404
    assert client.get(reverse("milestones", args=[hidden.ref])).status_code == 404
    decide = reverse("recurrence-decide", args=[public.ref, hidden.ref])
    assert client.post(decide, {"decision": "dismissed"}).status_code == 404
