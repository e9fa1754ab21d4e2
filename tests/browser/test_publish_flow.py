"""An owner publishes from the publishing page: resolved first, then asked to confirm."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident
from tests import factories
from tests.browser.conftest import PHONE


@pytest.fixture
def still_open(owner, teammate):
    """Everything written, but the incident was never marked resolved."""
    incident = factories.incident(
        owner=owner,
        title="Card payments failed at checkout",
        started_at=timezone.now() - timedelta(hours=3),
    )
    factories.publishable(incident, teammate)
    Incident.objects.filter(pk=incident.pk).update(status="investigating", resolved_at=None)
    return incident


def test_the_owner_resolves_confirms_and_publishes(browser_page, still_open, owner, shot):
    page = browser_page(owner)
    page.goto(f"/incidents/{still_open.ref}/publishing/")
    review = page.get_by_role("region", name="Review and publish")
    expect(review).to_contain_text("The incident is still “Investigating”")
    links = page.get_by_role("region", name="Stakeholder links")
    expect(links).to_contain_text("What a holder will see: nothing yet: it is not published")
    shot(page, "publishing-still-open")

    review.get_by_role("button", name="Mark the incident resolved at").click()
    expect(review.get_by_text("Marked resolved at")).to_be_visible()
    review.get_by_role("button", name="Ask for review").click()
    review.get_by_role("button", name="Publish…").click()
    confirm = review.get_by_role("alertdialog", name="Publish version 1 now?")
    expect(confirm).to_contain_text("No summary is sent.")
    confirm.get_by_role("link", name="Not yet, go back").click()
    expect(review.get_by_role("alertdialog")).to_have_count(0)
    still_open.postmortem.refresh_from_db()
    assert still_open.postmortem.status == "in_review"

    review.get_by_role("button", name="Publish…").click()
    expect(confirm).to_be_visible()
    shot(page, "publishing-confirm")
    confirm.get_by_role("button", name="Yes, publish version 1").click()
    expect(review.get_by_role("status")).to_have_text("Published.")
    page.reload()
    expect(links).to_contain_text("What a holder will see: version 1, as published on")
    still_open.refresh_from_db()
    assert (still_open.status, still_open.postmortem.publications.count()) == ("resolved", 1)


def test_the_confirmation_reads_on_a_phone(browser_page, still_open, owner, shot):
    Incident.objects.filter(pk=still_open.pk).update(
        status="resolved", resolved_at=still_open.started_at + timedelta(minutes=50)
    )
    still_open.postmortem.status = "in_review"
    still_open.postmortem.save()
    page = browser_page(owner, viewport=PHONE)
    page.goto(f"/incidents/{still_open.ref}/publishing/")
    page.get_by_role("button", name="Publish…").click()
    confirm = page.get_by_role("alertdialog", name="Publish version 1 now?")
    expect(confirm.get_by_role("button", name="Yes, publish version 1")).to_be_in_viewport()
    shot(page, "publishing-confirm-phone")
