"""A lead reads the incident's picture, answers "seen before", looks at the quarter's insights
and searches for an old write-up, on a laptop and on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident, TimelineEntry
from tests import factories
from tests.browser.conftest import ARTIFACTS, LAPTOP, PHONE


def test_the_picture_milestones_and_seen_before(browser_page, shot, owner):
    api = factories.service("checkout-api")
    started = timezone.now() - timedelta(hours=3)
    earlier = factories.incident(
        owner=owner, title="Checkout 502s in the spring", services=[api],
        started_at=timezone.now() - timedelta(days=20),
    )  # fmt: skip
    factories.action_item(earlier, title="Alert on 502 rate", owner=owner)
    incident = factories.incident(
        owner=owner, title="Checkout 502s again", services=[api], started_at=started,
        detected_at=started + timedelta(minutes=9),
    )  # fmt: skip
    for minutes, kind, text in [
        (14, TimelineEntry.Kind.RESPONSE, "Priya took it on"),
        (25, TimelineEntry.Kind.ESCALATION, "Paged the platform on-call"),
        (40, TimelineEntry.Kind.COMMUNICATION, "Status page updated"),
        (52, TimelineEntry.Kind.MITIGATION, "Rolled back the gateway"),
        (80, TimelineEntry.Kind.RESOLUTION, "Error rate normal for 20 minutes"),
    ]:
        factories.timeline_entry(incident, minutes=minutes, kind=kind, text=text)

    page = browser_page(owner, viewport=LAPTOP)
    page.goto(incident.get_absolute_url())
    page.get_by_role("link", name="Set milestones from the timeline").click()
    # Each milestone's first entry of the matching kind is already picked.
    page.get_by_role("button", name="Save milestones").click()
    header = page.get_by_role("region", name="Incident details")
    expect(header.get_by_role("img")).to_have_attribute("aria-label", re.compile("Responding"))
    expect(header.get_by_text("Time to acknowledge")).to_be_visible()
    stored = Incident.objects.get(pk=incident.pk)
    assert stored.time_to_acknowledge == timedelta(minutes=5)
    assert stored.time_to_resolve == timedelta(minutes=80)

    seen = page.get_by_role("region", name=re.compile("Seen before"))
    expect(seen.get_by_role("link", name=re.compile(earlier.ref))).to_be_visible()
    expect(seen.get_by_text("1 open")).to_be_visible()
    shot(page, "learning-document-laptop")
    seen.get_by_role("button", name=re.compile("Confirm: same failure again")).click()
    expect(seen.get_by_text("Confirmed recurrence")).to_be_visible()

    phone = browser_page(owner, viewport=PHONE)
    phone.goto(incident.get_absolute_url())
    expect(phone.get_by_role("region", name="Incident details").get_by_role("img")).to_be_visible()
    box = phone.locator(".picture-svg").bounding_box()
    assert box["width"] <= PHONE[0]
    shot(phone, "learning-document-phone")
    phone.screenshot(path=str(ARTIFACTS / "learning-document-phone-top.png"))


def test_insights_and_search_over_the_demo_year(browser_page, shot, owner):
    call_command("seed_demo")
    for viewport, name in [(LAPTOP, "laptop"), (PHONE, "phone")]:
        page = browser_page(owner, viewport=viewport)
        page.goto("/")
        page.get_by_role("link", name="Insights").click()
        page.get_by_role("link", name="Earlier period").click()
        figure = page.get_by_role("region", name="Causes by category")
        expect(figure.get_by_role("table")).to_be_visible()
        time_to = page.get_by_role("region", name=re.compile("^Time to detect"))
        expect(time_to.get_by_role("table")).to_be_visible()
        shot(page, f"learning-insights-{name}")
        page.screenshot(path=str(ARTIFACTS / f"learning-insights-{name}-top.png"))
        first_row = figure.get_by_role("row").nth(1).get_by_role("link")
        first_row.click()
        behind = page.get_by_role("heading", name=re.compile("Incidents behind the figure"))
        expect(behind).to_be_visible()
        assert page.get_by_role("row").count() > 1

        search = page.get_by_role("search").first
        search.get_by_label("Search everything written").fill("connection pool")
        search.get_by_role("button", name="Search").click()
        expect(page.locator(".search-hit").first).to_be_visible()
        expect(page.locator(".search-hit mark").first).to_be_visible()
        shot(page, f"learning-search-{name}")
        page.screenshot(path=str(ARTIFACTS / f"learning-search-{name}-top.png"))
        page.locator(".search-hit a").first.click()
        expect(page).to_have_url(re.compile(r"/incidents/INC-\d+/#\w+-\d+$"))
