"""While it burns, as a responder would: open by clicks, hand over a role, tell stakeholders,
and be reminded when it has gone quiet."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import Incident, StatusUpdate
from kernel import delivery as engine
from kernel.models import Delivery
from tests import factories
from tests.actions.conftest import slack_server  # noqa: F401
from tests.browser.conftest import PHONE, VIEWER_TIMEZONE
from tests.browser.test_document_editing import fits_the_screen

VIEWER_ZONE = ZoneInfo(VIEWER_TIMEZONE)


def test_open_an_incident_from_the_dashboard_by_clicks(browser_page, shot):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    page = browser_page(owner)
    page.goto("/")
    clicks, keys = 0, 0
    title, first_line = "Checkout down", "mitigated: rolled back 4.2.1"
    quick_open = page.get_by_role("form", name="Open an incident")
    quick_open.get_by_label("Title").click()
    clicks += 1
    page.keyboard.type(title)
    keys += len(title)
    severity = quick_open.get_by_label("Severity")
    severity.select_option(severity.locator("option", has_text="SEV2").get_attribute("value"))
    clicks += 2  # open the list, pick the severity
    quick_open.get_by_role("button", name="Open incident").click()
    clicks += 1

    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    expect(page.locator("#active-state .status")).to_have_text("Investigating")
    roster = page.get_by_role("region", name="Roles")
    expect(roster).to_contain_text("Priya Raman")
    expect(roster).to_contain_text("incident commander")
    capture = page.get_by_label("What just happened?")
    expect(capture).to_be_focused()
    # The clock ticks: its text changes without anything being done.
    clock = page.locator(".clock").first
    shown = clock.inner_text()
    expect(clock).not_to_have_text(shown)
    # The empty time shows the now it stands for, to the second, in ISO order.
    expect(page.get_by_label("At", exact=True).first).to_have_attribute(
        "placeholder", re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
    )
    expect(page.locator("#capture-occurred_at_format")).to_contain_text("24-hour, Europe/Berlin")

    page.keyboard.type(first_line)
    page.keyboard.press("Enter")
    keys += len(first_line) + 1
    entry = page.locator(".timeline .entry").filter(has_text="rolled back 4.2.1")
    expect(entry).to_contain_text("Mitigation")
    incident = Incident.objects.get()
    assert (incident.severity.level, incident.owner) == (2, owner)
    print(f"\ndashboard to first entry by mouse: {clicks} clicks, {keys} keystrokes")
    shot(page, "active-opened-by-clicks")


def test_a_role_hand_over_is_in_the_timeline_and_the_history(browser_page):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    factories.user("marcus", first_name="Marcus", last_name="Webb")
    incident = factories.incident(owner=owner, level=2)
    page = browser_page(owner)
    page.goto(f"/incidents/{incident.ref}/active/")
    page.get_by_text("Hand over a role").click()
    page.get_by_label("Role", exact=True).select_option(label="communications lead")
    page.get_by_label("To", exact=True).select_option(label="Marcus Webb")
    page.get_by_role("button", name="Hand over").click()

    roster = page.get_by_role("region", name="Roles")
    expect(roster.locator("li").filter(has_text="Marcus Webb")).to_contain_text(
        "communications lead"
    )
    entry = page.locator(".timeline .entry").filter(has_text="Marcus Webb is now")
    expect(entry).to_contain_text("communications lead")

    page.get_by_text("Hand over a role").click()
    page.get_by_label("Role", exact=True).select_option(label="incident commander")
    page.get_by_label("To", exact=True).select_option(label="Marcus Webb")
    page.get_by_role("button", name="Hand over").click()
    handed = page.locator(".timeline .entry").filter(has_text="handed incident commander")
    expect(handed).to_contain_text("Priya Raman handed incident commander to Marcus Webb.")

    page.goto(f"/incidents/{incident.ref}/history/")
    expect(page.locator("main")).to_contain_text("Marcus Webb")
    expect(page.locator("main")).to_contain_text("Priya Raman handed incident commander")


def test_a_stakeholder_update_reaches_a_live_updates_link_and_nothing_else_does(
    browser,
    browser_page,
    live_url,
    settings,
    slack_server,  # noqa: F811
):
    settings.HINDSIGHT_SUMMARY_EMAILS = ["status@example.com"]
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    team = factories.team("Payments", slack_webhook_url=slack_server.url)
    incident = factories.incident(owner=owner, level=1, team=team)
    page = browser_page(owner)

    page.goto(f"/incidents/{incident.ref}/active/")
    page.get_by_label("What just happened?").fill("detected: replica lag 9 min on db-7")
    page.get_by_label("What just happened?").press("Enter")
    expect(page.locator(".timeline .entry").filter(has_text="db-7")).to_have_count(1)
    page.get_by_label("What we know").fill("Internal: db-7 is out of disk.")
    page.get_by_label("What we are doing").fill("Marcus is cleaning WAL files.")
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_role("status").filter(has_text="Posted.")).to_be_visible()

    # A live-updates link, made on the publishing page as an owner would.
    page.goto(f"/incidents/{incident.ref}/publishing/")
    page.get_by_label("Who is it for?").fill("Acme Corp")
    page.get_by_role("radio", name=re.compile("^Live updates")).check()
    page.get_by_role("button", name="Make a link").click()
    link = page.locator("#new-link-url").input_value()

    reader = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}).new_page()
    reader.goto(link)
    expect(reader.locator(".live-update-list")).to_contain_text("No update yet")

    page.goto(f"/incidents/{incident.ref}/active/")
    page.get_by_label("What we know").fill("Some customers cannot check out.")
    page.get_by_label("What we are doing").fill("Moving traffic to a healthy database.")
    # A time alone is today: an hour from now, in the viewer's zone (Berlin), as typed.
    next_at = timezone.now().astimezone(VIEWER_ZONE) + timedelta(hours=1)
    if next_at.date() == timezone.now().astimezone(VIEWER_ZONE).date():
        page.get_by_label("Next update by").fill(next_at.strftime("%H:%M"))
    page.get_by_role("radio", name=re.compile("^Stakeholders")).check()
    page.get_by_role("button", name="Post update").click()
    expect(page.get_by_role("status").filter(has_text="on every live-updates link")).to_be_visible()
    latest = page.get_by_role("region", name="Latest status update")
    expect(latest).to_contain_text("Some customers cannot check out.")
    expect(latest).to_contain_text("to stakeholders")

    reader.reload()
    updates = reader.locator(".live-update-list")
    expect(updates).to_contain_text("Some customers cannot check out.")
    expect(updates).to_contain_text("Next update by")
    body = reader.locator("body").inner_text()
    for secret in ("db-7", "WAL", "replica lag", "Priya", "Marcus"):
        assert secret.lower() not in body.lower(), secret
    fits_the_screen(reader)
    reader.context.close()

    # The update went out through the delivery engine: one e-mail to the list, one Slack post.
    update = StatusUpdate.objects.get(audience=StatusUpdate.Audience.STAKEHOLDERS)
    queued = Delivery.objects.filter(topic="status-update", subject_id=update.pk)
    assert sorted(d.channel for d in queued) == ["email", "slack"]
    assert not Delivery.objects.filter(topic="status-update").exclude(subject_id=update.pk)
    engine.deliver_due()
    [message] = mail.outbox
    assert message.to == ["status@example.com"]
    assert "What we know: Some customers cannot check out." in message.body
    [payload] = slack_server.payloads()
    assert "Moving traffic to a healthy database." in payload["text"]


def test_a_quiet_incident_says_so_on_the_page_and_can_be_snoozed_with_a_reason(
    browser_page, shot, accessible
):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    severity = factories.severity(1)
    severity.status_update_every_minutes = 30
    severity.save()
    incident = factories.incident(
        owner=owner, level=1, started_at=timezone.now() - timedelta(minutes=47)
    )
    page = browser_page(owner, viewport=PHONE)
    page.goto(f"/incidents/{incident.ref}/active/")
    alert = page.locator(".quiet-alert")
    expect(alert).to_contain_text("No status update for 47")
    expect(alert).to_contain_text("You are being reminded as commander.")
    expect(page.locator(".next-due")).to_contain_text("overdue")
    accessible(page)
    fits_the_screen(page)
    shot(page, "active-quiet-phone")

    page.get_by_text("Snooze these reminders").click()
    page.get_by_role("button", name="Snooze reminders").click()
    # No reason, no snooze: the browser asks for one before anything is sent.
    assert page.get_by_label("Why").evaluate("el => el.validity.valueMissing") is True
    expect(page.locator(".quiet-alert")).to_be_visible()
    page.get_by_label("Why").fill("Waiting on the vendor's engineers")
    page.get_by_role("button", name="Snooze reminders").click()
    expect(page.locator(".quiet-snoozed")).to_contain_text("Waiting on the vendor's engineers")
    expect(page.locator(".quiet-alert")).to_have_count(0)
    incident.refresh_from_db()
    assert incident.quiet_snoozed_until > timezone.now() + timedelta(minutes=59)
