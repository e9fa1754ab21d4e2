"""Seen before: earlier incidents sharing a service or a cause category, confirmed or not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from actions.models import ActionItem
from insights.models import Recurrence
from insights.recurrence import seen_before
from postmortems.models import CauseCategory
from tests import factories


def days_ago(n: int):
    return timezone.now() - timedelta(days=n)


@pytest.fixture
def api(db):
    return factories.service("api")


@pytest.fixture
def new(owner, api):
    return factories.incident(owner=owner, title="Checkout 502s again", services=[api])


def test_an_earlier_incident_on_the_same_service_is_seen_before(owner, api, new):
    earlier = factories.incident(owner=owner, started_at=days_ago(20), services=[api])
    unrelated = factories.incident(owner=owner, started_at=days_ago(10))
    found = seen_before(new, owner)
    assert [c.incident for c in found] == [earlier]
    assert found[0].shared_services == ["api"]
    assert unrelated not in [c.incident for c in found]


def test_a_shared_cause_category_counts_too(owner, new):
    capacity = CauseCategory.objects.get(name="Capacity")
    earlier = factories.incident(owner=owner, started_at=days_ago(30))
    factories.cause(earlier, "Pool too small").__class__.objects.filter(
        postmortem=earlier.postmortem
    ).update(category=capacity)
    factories.cause(new, "Pool too small again").__class__.objects.filter(
        postmortem=new.postmortem
    ).update(category=capacity)
    found = seen_before(new, owner)
    assert [c.incident for c in found] == [earlier]
    assert found[0].shared_categories == ["Capacity"]


def test_only_the_configured_window_and_only_earlier_ones(owner, api, new, settings):
    settings.HINDSIGHT_RECURRENCE_DAYS = 30
    factories.incident(owner=owner, started_at=days_ago(45), services=[api])
    later = factories.incident(owner=owner, services=[api])
    later.__class__.objects.filter(pk=later.pk).update(started_at=new.started_at + timedelta(1))
    assert seen_before(new, owner) == []


def test_the_earlier_items_state_is_shown(owner, api, new):
    earlier = factories.incident(owner=owner, started_at=days_ago(20), services=[api])
    factories.action_item(
        earlier, title="Add pool alert", due_date=timezone.localdate() - timedelta(3)
    )
    factories.action_item(
        earlier, title="Rewrite", status=ActionItem.Status.WONT_DO, wont_do_reason="Too big"
    )
    found = seen_before(new, owner)[0]
    assert [i.title for i in found.overdue_items] == ["Add pool alert"]
    assert [i.wont_do_reason for i in found.wont_do_items] == ["Too big"]


def test_confirm_and_dismiss_from_the_document(owner_client, owner, api, new):
    earlier = factories.incident(owner=owner, started_at=days_ago(20), services=[api])
    other = factories.incident(owner=owner, started_at=days_ago(25), services=[api])
    page = owner_client.get(reverse("recurrence", args=[new.ref]), HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert "Seen before" in text and earlier.ref in text and other.ref in text

    url = reverse("recurrence-decide", args=[new.ref, earlier.ref])
    answer = owner_client.post(url, {"decision": "confirmed"}, HTTP_HX_REQUEST="true")
    assert "Confirmed recurrence" in answer.content.decode()
    owner_client.post(
        reverse("recurrence-decide", args=[new.ref, other.ref]), {"decision": "dismissed"}
    )
    assert dict(Recurrence.objects.values_list("earlier_id", "decision")) == {
        earlier.pk: "confirmed",
        other.pk: "dismissed",
    }
    # A dismissed one is not suggested again; a confirmed one stays.
    assert [c.incident for c in seen_before(new, owner)] == [earlier]
    owner_client.post(url, {"decision": ""})
    assert not Recurrence.objects.filter(earlier=earlier).exists()


@pytest.mark.parametrize("decision", ["maybe", "x" * 5000, "confirmed\x00"])
def test_an_unknown_decision_is_refused(owner_client, owner, api, new, decision):
    earlier = factories.incident(owner=owner, started_at=days_ago(20), services=[api])
    url = reverse("recurrence-decide", args=[new.ref, earlier.ref])
    assert owner_client.post(url, {"decision": decision}).status_code == 400
    assert (
        owner_client.post(
            reverse("recurrence-decide", args=[new.ref, new.ref]), {"decision": "confirmed"}
        ).status_code
        == 400
    )


def test_a_confirmed_recurrence_counts_in_insights_with_its_open_item(owner_client, owner, api):
    earlier = factories.incident(owner=owner, started_at=days_ago(40), services=[api])
    filed = factories.action_item(earlier, title="Alert on pool")
    ActionItem.objects.filter(pk=filed.pk).update(created_at=days_ago(39))
    new = factories.incident(owner=owner, started_at=days_ago(1), services=[api])
    Recurrence.objects.create(incident=new, earlier=earlier, decision="confirmed")
    again = factories.incident(owner=owner, services=[api])
    Recurrence.objects.create(incident=again, earlier=new, decision="confirmed")
    response = owner_client.get(
        reverse("insights"),
        {
            "period": "custom",
            "start": days_ago(10).date().isoformat(),
            "end": timezone.localdate().isoformat(),
        },
    )
    figure = {f.key: f for f in response.context["figures"]}["recurrence"]
    # Both came back; only the first while an item filed for its earlier incident was open.
    assert [r.values for r in figure.rows] == [[2], [1]]


def test_seen_before_asks_few_queries(owner_client, owner, api, new, django_assert_max_num_queries):
    for n in range(6):
        earlier = factories.incident(owner=owner, started_at=days_ago(n + 2), services=[api])
        factories.cause(earlier, f"Cause {n}")
        factories.action_item(earlier)
    with django_assert_max_num_queries(14):
        response = owner_client.get(reverse("recurrence", args=[new.ref]), HTTP_HX_REQUEST="true")
    assert response.content.decode().count('class="seen-item decision') == 6
