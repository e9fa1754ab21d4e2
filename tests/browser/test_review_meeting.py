"""The review meeting in two browsers served by uvicorn: a decision, the timer and a dissent
reach the other screen live; both layouts pass axe on a laptop, a phone and a projector."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from actions.meetings import meeting_schedule
from tests import factories
from tests.browser.conftest import PHONE
from tests.browser.test_live_editing import asgi_server, asgi_url, open_page, people  # noqa: F401


def _meeting(priya, marcus):
    incident = factories.incident(owner=priya, level=2, title="Checkout payments refused")
    factories.timeline_entry(incident, text="Alert: card declines above 5%")
    factories.cause(incident, "The connection pool ran dry", whys=1)
    return meeting_schedule(
        incident=incident,
        scheduled_at=timezone.now() + timedelta(hours=1),
        location="Room Ada",
        attendees=[priya, marcus],
        user=priya,
    )


def test_a_decision_the_timer_and_a_dissent_reach_the_other_screen_live(
    people,  # noqa: F811
    open_page,  # noqa: F811
    accessible,
    shot,
):
    priya, marcus = people
    meeting = _meeting(priya, marcus)
    url = f"/incidents/{meeting.incident.ref}/meetings/{meeting.pk}/"
    a, b = open_page(priya), open_page(marcus)
    for page in (a, b):
        page.goto(url)
        expect(page.locator("#live-status")).to_have_text("Live")
    b.evaluate("window.notReloaded = true")

    # A decision typed on one screen appears on the other.
    a.get_by_role("button", name="Record a decision").click()
    a.get_by_label("Decision", exact=True).fill("Pool limits get an owner per service.")
    a.get_by_role("button", name="Save").click()
    expect(b.locator(".decision")).to_contain_text("Pool limits get an owner per service.")

    # The timer started on one screen runs on the other, from the same stored start.
    b_clock = b.locator(".big-clock [data-timer]")
    expect(b_clock).to_have_text("00:00")
    a.get_by_role("button", name="Start the meeting").click()
    expect(b.locator(".meeting-state")).to_contain_text("Running")
    expect(b_clock).not_to_have_text("00:00", timeout=5_000)
    a.get_by_role("button", name="Next part").click()
    expect(b.locator(".now-title")).to_have_text("Timeline review")
    expect(b.locator(".agenda-part.current .part-title")).to_have_text("Timeline review")

    # Presence is marked on one screen and seen on the other.
    a.get_by_role("button", name="Absent for Marcus Webb").click()
    expect(b.locator(".attendee.presence-absent")).to_contain_text("Marcus Webb")

    # A dissent written for Marcus waits for him; only he sees the button to confirm it.
    a.get_by_role("button", name="Record a dissenting view").click()
    a.get_by_label("Whose view").select_option(label="Marcus Webb")
    a.get_by_label("The view, in their words").fill("The retries, not the pool, were the cause.")
    a.get_by_role("button", name="Save").click()
    dissent_on_b = b.locator(".dissent")
    expect(dissent_on_b).to_contain_text("Pending consent")
    expect(a.get_by_role("button", name="Confirm this is my view")).to_be_hidden()
    expect(a.locator(".dissent")).to_contain_text("Waiting for Marcus Webb to confirm it.")
    b.get_by_role("button", name="Confirm this is my view").click()
    expect(a.locator(".dissent")).to_contain_text("Confirmed by Marcus Webb")
    assert b.evaluate("window.notReloaded") is True

    accessible(a)
    shot(a, "meeting-laptop")
    a.goto(url + "projector/")
    expect(a.locator(".agenda-content.current h2")).to_have_text("Timeline review")
    expect(a.locator(".agenda-content[data-agenda-part='0']")).to_be_hidden()
    accessible(a)
    shot(a, "meeting-projector")
    # The projector follows the timer moved from another screen.
    b.get_by_role("button", name="Next part").click()
    expect(a.locator(".agenda-content.current h2")).to_have_text("Analysis: causes and their whys")
    expect(a.locator(".agenda-content[data-agenda-part='1']")).to_be_hidden()


def test_the_meeting_reads_on_a_phone(people, open_page, accessible, shot):  # noqa: F811
    priya, marcus = people
    meeting = _meeting(priya, marcus)
    page = open_page(priya)
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    page.goto(f"/incidents/{meeting.incident.ref}/meetings/{meeting.pk}/")
    expect(page.get_by_role("button", name="Start the meeting")).to_be_visible()
    accessible(page)
    shot(page, "meeting-phone")
    page.get_by_role("link", name="Projector layout").click()
    accessible(page)
    shot(page, "meeting-projector-phone")


def test_scheduling_in_the_browser(people, open_page, accessible):  # noqa: F811
    priya, marcus = people
    incident = factories.incident(owner=priya, level=2)
    page = open_page(priya)
    page.goto(f"/actions/meetings/{incident.ref}/")
    page.get_by_role("link", name="Schedule a review meeting").click()
    accessible(page)
    page.get_by_label("Starts at").fill("1-01-01 00:00")
    page.get_by_role("button", name="Schedule and invite").click()
    expect(page.get_by_text("Enter a date and time as YYYY-MM-DD HH:MM")).to_be_visible()
    when = timezone.localtime(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%d 10:00")
    page.get_by_label("Starts at").fill(when)
    page.get_by_label("Where").fill("Room Ada")
    page.get_by_label("Marcus Webb").check()
    page.get_by_role("button", name="Schedule and invite").click()
    expect(page.get_by_text("Review meeting scheduled for")).to_be_visible()
    expect(page.locator(".meeting-state")).to_contain_text("Room Ada")
    accessible(page)
