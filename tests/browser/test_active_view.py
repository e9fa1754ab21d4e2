"""While it burns: open an incident by keyboard, capture what happens, press the milestones."""

from __future__ import annotations

import io
import re
from zoneinfo import ZoneInfo

from django.core.management import call_command
from playwright.sync_api import Page, expect

from incidents.models import Incident, TimelineEntry
from tests import factories
from tests.browser.conftest import PHONE, VIEWER_TIMEZONE
from tests.browser.test_document_editing import SHOWN_TIME, fits_the_screen


def test_open_an_incident_and_capture_the_first_entry_by_keyboard(browser_page, shot):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    page = browser_page(owner)
    page.goto("/")
    title = "Checkout down"
    first_line = "detected: 502s on checkout"
    # Every key pressed from the dashboard to the first entry, and no click.
    keys = ["n", *title, "Tab", "ArrowDown", "Tab", "Enter"]
    for key in keys:
        page.keyboard.press(key)
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    capture = page.get_by_label("What just happened?")
    expect(capture).to_be_focused()
    # A mark on the page: a reload would wipe it.
    page.evaluate("window.notReloaded = true")
    for key in [*first_line, "Enter"]:
        page.keyboard.press(key)
    keys += [*first_line, "Enter"]

    timeline = page.get_by_role("region", name="Timeline")
    entry = timeline.get_by_role("listitem").filter(has_text="502s on checkout")
    expect(entry).to_contain_text("Detection")
    expect(page.get_by_role("status").filter(has_text="Added at")).to_contain_text(VIEWER_TIMEZONE)
    expect(capture).to_have_value("")
    expect(capture).to_be_focused()
    assert page.evaluate("window.notReloaded") is True
    incident = Incident.objects.get()
    assert incident.severity.level == 1
    assert incident.owner == owner
    stored = incident.timeline.get(text="502s on checkout")
    assert stored.kind == TimelineEntry.Kind.DETECTION
    shown = page.locator(f"#entry-{stored.pk} time").inner_text()
    assert shown == stored.occurred_at.astimezone(ZoneInfo(VIEWER_TIMEZONE)).strftime(SHOWN_TIME)
    print(
        f"\nopen to first entry: 0 clicks, {len(keys)} keystrokes "
        f"({len(title)} in the title, {len(first_line)} in the entry)"
    )
    shot(page, "active-first-entry")


def test_alt_and_a_letter_choose_the_kind(browser_page):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, level=2)
    page = browser_page(owner)
    page.goto(f"/incidents/{incident.ref}/active/")
    capture = page.get_by_label("What just happened?")
    capture.fill("Rolled back 4.2.1")
    capture.press("Alt+m")
    expect(page.get_by_label("Kind")).to_have_value("mitigation")
    expect(page.get_by_text("Files as Mitigation")).to_be_visible()
    capture.press("Enter")
    expect(page.locator(".timeline .entry").filter(has_text="Rolled back 4.2.1")).to_contain_text(
        "Mitigation"
    )


def test_milestone_buttons_move_the_incident_on(browser_page):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, level=2)
    page = browser_page(owner)
    page.goto(f"/incidents/{incident.ref}/active/")
    state = page.locator("#active-state")
    page.get_by_role("button", name="Mark mitigated").click()
    expect(state.locator(".status")).to_have_text("Monitoring")
    expect(state).to_contain_text("A fix is in place")
    expect(page.get_by_role("button", name="Mark mitigated")).to_have_count(0)
    expect(page.locator(".timeline .entry.kind-mitigation")).to_have_count(1)
    page.get_by_role("button", name="Mark resolved").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident.ref}/$"))
    expect(page.get_by_role("region", name="Incident details")).to_contain_text("Resolved")


def look(page: Page, shot, name: str) -> None:
    expect(page.get_by_role("heading", name="Roles")).to_be_visible()
    expect(page.get_by_role("heading", name="Latest status update")).to_be_visible()
    shot(page, name)


def test_the_demo_incident_on_a_laptop_and_a_phone(browser_page, shot, accessible):
    call_command("seed_demo", stdout=io.StringIO())
    incident = Incident.objects.get(status=Incident.Status.IDENTIFIED)
    demo = incident.owner
    demo.set_password(factories.PASSWORD)
    demo.save()
    for viewport, name in (((1280, 800), "active-laptop"), (PHONE, "active-phone")):
        page = browser_page(demo, viewport=viewport)
        page.goto(f"/incidents/{incident.ref}/active/")
        expect(page.locator(".roster-list li")).to_have_count(3)
        expect(page.locator(".roster-list")).to_contain_text("communications lead")
        expect(page.locator(".earlier-updates li")).to_have_count(1)
        look(page, shot, name)
        accessible(page)
        if viewport == PHONE:
            fits_the_screen(page)
