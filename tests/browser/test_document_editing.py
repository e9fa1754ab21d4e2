"""A responder opens an incident and writes its postmortem in place, then walks its history."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management import call_command
from playwright.sync_api import Page, expect

from incidents.models import Incident, Severity, TimelineEntry
from postmortems.models import Section
from tests import factories
from tests.browser.conftest import PHONE, VIEWER_TIMEZONE

BERLIN = ZoneInfo(VIEWER_TIMEZONE)
FIELD_TIME = "%Y-%m-%d %H:%M:%S"
SHOWN_TIME = "%Y-%m-%d %H:%M:%S"


def an_hour_ago_in_berlin() -> datetime:
    return (datetime.now(BERLIN) - timedelta(hours=1)).replace(second=0, microsecond=0)


def fits_the_screen(page: Page) -> None:
    """Nothing sticks out sideways: the page scrolls only down, as a phone reader expects."""
    overflow = page.evaluate(
        """() => {
            const width = document.documentElement.clientWidth;
            return [...document.querySelectorAll("body *")]
                .filter(el => el.getBoundingClientRect().right > width + 1)
                .filter(el => !el.closest(".visually-hidden"))
                .slice(0, 5)
                .map(el => `${el.tagName}.${el.className}: ${el.textContent.slice(0, 40)}`);
        }"""
    )
    assert overflow == [], f"wider than the screen on {page.url}: {overflow}"


def open_incident(page: Page, *, title: str, started: datetime) -> None:
    page.get_by_role("link", name="Open an incident").first.click()
    expect(page.get_by_role("heading", name="Open an incident")).to_be_visible()
    page.get_by_label("Title").fill(title)
    sev2 = Severity.objects.get(level=2)
    page.get_by_label("Severity").select_option(label=f"{sev2.name} — {sev2.meaning}")
    page.get_by_text("More details (optional)").click()
    page.get_by_label("Started at").fill(started.strftime(FIELD_TIME))
    page.get_by_role("button", name="Open incident").click()
    # A new incident opens on its active view; the outline is one click away.
    page.get_by_role("link", name="Open the full postmortem outline").click()
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()


def without_live_updates(page: Page) -> Page:
    """Keep the live updates' background refreshes out of a test of editing by hand.

    A refresh of the timeline that is under way when a form opens in it replaces the form as
    it lands. Live updates have their own tests, in test_live_editing.py.
    """
    page.route(re.compile(r"/incidents/[^/]+/(events|changes)/"), lambda route: route.abort())
    return page


def add_timeline_entry(page: Page, *, at: datetime, kind: str, text: str) -> None:
    timeline = page.get_by_role("region", name="Timeline")
    timeline.get_by_role("button", name="Add timeline entry").click()
    timeline.get_by_label("Time", exact=True).fill(at.strftime(FIELD_TIME))
    timeline.get_by_label("Kind", exact=True).select_option(label=kind)
    timeline.get_by_label("What happened").fill(text)
    timeline.get_by_role("button", name="Save").click()
    expect(timeline.get_by_role("listitem").filter(has_text=text)).to_be_visible()


def edit_summary(page: Page, text: str):
    """Open the summary's editor, type `text`, and return the form (it replaces the section)."""
    page.get_by_role("button", name="Edit Incident summary").click()
    form = page.get_by_role("form", name="Incident summary")
    form.get_by_role("textbox", name="Incident summary").fill(text)
    return form


def test_a_responder_opens_an_incident_and_writes_its_document_in_place(
    browser_page, shot, accessible
):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    page = without_live_updates(browser_page(owner))
    started = an_hour_ago_in_berlin()
    open_incident(page, title="Checkout payments failing", started=started)
    header = page.get_by_role("region", name="Incident details")
    expect(header).to_contain_text(started.strftime(SHOWN_TIME))
    expect(page.get_by_text(f"Times in {VIEWER_TIMEZONE}")).to_be_visible()

    # The summary: Edit, type Markdown, Save, and read it rendered.
    form = edit_summary(page, "Card payments **failed** for 23 minutes.\n\n- checkout\n- refunds")
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    summary = page.get_by_role("region", name="Incident summary")
    expect(summary.locator("strong")).to_have_text("failed")
    expect(summary.get_by_role("listitem")).to_have_text(["checkout", "refunds"])
    expect(summary.get_by_role("status")).to_have_text("Saved.")

    # A section saves itself as it is typed: Esc closes the editor and keeps the words.
    form = edit_summary(page, "Card payments failed for 23 minutes. Half a thought")
    form.get_by_role("textbox").press("Escape")
    expect(form).to_have_count(0)
    expect(summary).to_contain_text("Half a thought")
    expect(summary.get_by_role("status")).to_have_text("Saved.")

    # Timeline entries to the second, shown in the order they happened, whatever the order typed.
    mitigated = started + timedelta(minutes=12, seconds=7)
    escalated = started + timedelta(minutes=3, seconds=41)
    add_timeline_entry(page, at=mitigated, kind="Mitigation", text="Rolled back to 4.12.0")
    add_timeline_entry(page, at=escalated, kind="Escalation", text="Paged the database team")
    entries = page.get_by_role("region", name="Timeline").get_by_role("listitem")
    expect(entries).to_have_count(3)
    expect(entries.nth(0)).to_contain_text("Incident opened")
    expect(entries.nth(1)).to_contain_text(escalated.strftime(SHOWN_TIME))
    expect(entries.nth(1)).to_contain_text("Paged the database team")
    expect(entries.nth(2)).to_contain_text(mitigated.strftime(SHOWN_TIME))
    stored = TimelineEntry.objects.get(text="Rolled back to 4.12.0").occurred_at
    assert stored == mitigated, "the time typed in Berlin is the moment stored"

    # Other blocks save only on Save: Esc leaves the edit and drops what was typed.
    # An entry's controls come to it when it is focused (or pointed at).
    entries.nth(2).focus()
    entries.nth(2).get_by_role("button", name="Edit timeline entry").click()
    form = page.get_by_role("form", name="Timeline entry")
    form.get_by_label("What happened").fill("Rolled back, maybe")
    form.get_by_label("What happened").press("Escape")
    expect(form).to_have_count(0)
    expect(entries.nth(2)).to_contain_text("Rolled back to 4.12.0")
    assert not TimelineEntry.objects.filter(text="Rolled back, maybe").exists()

    # A form that does not validate says why, where the person typed.
    timeline = page.get_by_role("region", name="Timeline")
    timeline.get_by_role("button", name="Add timeline entry").click()
    timeline.get_by_label("Time", exact=True).fill(mitigated.strftime(FIELD_TIME))
    timeline.get_by_role("button", name="Save").click()
    new_entry = timeline.get_by_role("form", name="New timeline entry")
    expect(new_entry.get_by_role("alert")).to_contain_text("Please fix the fields marked below.")
    expect(new_entry).to_contain_text("This field is required.")
    expect(new_entry.get_by_label("What happened")).to_be_focused()
    accessible(page)
    shot(page, "document-invalid-entry-laptop")
    new_entry.get_by_role("button", name="Cancel").click()
    expect(new_entry).to_have_count(0)

    header.get_by_role("button", name="Edit incident details").click()
    header_form = page.get_by_role("form", name="Incident details")
    header_form.get_by_label("Resolved at").fill(
        (started - timedelta(minutes=5)).strftime(FIELD_TIME)
    )
    header_form.get_by_role("button", name="Save").click()
    expect(header_form).to_contain_text("cannot be before the incident started")
    header_form.get_by_label("Title").press("Escape")
    expect(header_form).to_have_count(0)
    expect(page.get_by_role("region", name="Incident details")).to_be_visible()
    assert Incident.objects.get(title="Checkout payments failing").resolved_at is None

    page.evaluate("window.scrollTo(0, 0)")
    accessible(page)
    shot(page, "document-laptop")

    phone = browser_page(owner, viewport=PHONE)
    phone.goto(page.url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Checkout payments failing")
    fits_the_screen(phone)
    shot(phone, "document-phone")


def test_history_shows_each_change_with_a_diff_and_reverts_a_block(browser_page, shot, accessible):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, level=2, title="Search results stale")
    page = without_live_updates(browser_page(owner))
    page.goto(incident.get_absolute_url())

    for text in ("The indexer stalled for 40 minutes.", "The indexer lagged for 40 minutes."):
        edit_summary(page, text).get_by_role("button", name="Save").click()
        expect(page.get_by_role("region", name="Incident summary")).to_contain_text(text)

    page.get_by_role("link", name="History").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    # One person's saves of one block close together read as one change, each save kept inside.
    changes = page.get_by_role("listitem").filter(has_text="changed Incident summary")
    expect(changes).to_have_count(1)
    latest = changes.first
    expect(latest).to_contain_text("Priya Raman")
    expect(latest).to_contain_text("2 saves, versions 2–3")
    expect(latest.get_by_role("insertion")).to_have_text("The indexer lagged for 40 minutes.")
    accessible(page)
    shot(page, "history-laptop")

    latest.get_by_text("Each of the 2 saves").click()
    latest.get_by_role("button", name="Revert to version 2").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Reverted “Incident summary” to its version 2."
    )
    reverted = page.get_by_role("listitem").filter(has_text="changed Incident summary").first
    expect(reverted).to_contain_text("3 saves, versions 2–4")
    expect(reverted.get_by_role("insertion")).to_have_text("The indexer stalled for 40 minutes.")
    reverted.get_by_role("link", name="All changes to Incident summary").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("History of Incident summary")
    summary = Section.objects.get(postmortem__incident=incident, key="summary")
    assert (summary.version, summary.body) == (4, "The indexer stalled for 40 minutes.")

    page.get_by_role("link", name=re.compile(incident.ref)).click()
    expect(page.get_by_role("region", name="Incident summary")).to_contain_text("stalled")

    phone = browser_page(owner, viewport=PHONE)
    phone.goto(f"{incident.get_absolute_url()}history/")
    fits_the_screen(phone)
    shot(phone, "history-phone")


def test_every_page_fits_a_phone(browser, live_url, browser_page, shot, accessible):
    call_command("seed_demo", stdout=io.StringIO())
    reader = factories.user("reader", first_name="Rea", last_name="Der")
    page = browser_page(reader, viewport=PHONE)
    for name, path in [
        ("dashboard", "/"),
        ("incident-list", "/incidents/"),
        ("incident-new", "/incidents/new/"),
        ("actions-mine", "/actions/mine/"),
    ]:
        page.goto(path)
        fits_the_screen(page)
        accessible(page)
        shot(page, f"{name}-phone")

    page.goto("/incidents/")
    page.get_by_role("link", name=re.compile("database connections exhausted")).click()
    expect(page.get_by_role("region", name="Causes and their whys")).to_be_visible()
    fits_the_screen(page)
    shot(page, "demo-document-phone")
    page.get_by_role("button", name="Edit incident details").click()
    expect(page.get_by_role("form", name="Incident details")).to_be_visible()
    fits_the_screen(page)
    accessible(page)
    shot(page, "demo-header-form-phone")

    laptop = browser_page(reader)
    laptop.goto(page.url)
    accessible(laptop)
    shot(laptop, "demo-document-laptop")

    signing_in = browser.new_context(base_url=live_url).new_page()
    signing_in.goto("/login/")
    accessible(signing_in)
    shot(signing_in, "login-laptop")
    signing_in.context.close()


def test_an_edit_form_in_a_list_stays_a_list_item(browser_page, shot, accessible):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, level=2, title="Queue backed up")
    entry = factories.timeline_entry(incident, minutes=4, text="Consumers stopped acking")
    cause = factories.cause(incident, statement="The consumers deadlocked", whys=2)
    why = cause.whys.get(position=1)
    risk = factories.accepted_risk(cause)
    page = without_live_updates(browser_page(owner))
    page.goto(incident.get_absolute_url())

    # Each Edit opens the block's form in its place in its list; the others see who edits it.
    entry_item = page.locator(f"#entry-{entry.pk}")
    entry_item.hover()
    editing_entry = f"editing=entry-{entry.pk}"
    with page.expect_request(
        lambda r: r.url.endswith("/presence/") and editing_entry in r.post_data
    ):
        entry_item.get_by_role("button", name="Edit timeline entry").click()
    entry_form = page.get_by_role("form", name="Timeline entry")
    expect(entry_form).to_be_visible()
    whys = page.locator(f"#cause-{cause.pk} .whys > li")
    whys.nth(1).hover()
    whys.nth(1).get_by_role("button", name="Edit why").click()
    why_form = page.get_by_role("form", name="Why")
    expect(why_form).to_be_visible()
    page.locator(f"#risk-{risk.pk}").get_by_role("button", name="Edit accepted risk").click()
    risk_form = page.get_by_role("form", name="Accepted risk")
    expect(risk_form).to_be_visible()

    # The lists hold only list items, and the one under each block's id holds its form.
    accessible(page)
    held = [f"entry-{entry.pk}", f"why-{why.pk}", f"risk-{risk.pk}"]
    for block_id in held:
        expect(page.locator(f"li#{block_id}.block > form.block-form")).to_have_count(1)
    expect(whys).to_have_count(2)
    why_form.scroll_into_view_if_needed()
    shot(page, "document-forms-in-lists")

    # Cancel and Esc put each block back where its form was.
    entry_form.get_by_role("button", name="Cancel").click()
    why_form.get_by_label("Answer: because").press("Escape")
    risk_form.get_by_role("button", name="Cancel").click()
    for block_id in held:
        expect(page.locator(f"li#{block_id}.block:not(.form-item)")).to_have_count(1)
    expect(page.locator("form.block-form")).to_have_count(0)


def test_a_paste_too_long_is_kept_and_named_where_it_was_typed(browser_page, shot):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, level=2, title="Search results stale")
    page = without_live_updates(browser_page(owner))
    page.goto(incident.get_absolute_url())
    pasted = "All the logs of the night. " * 6000  # 162,000 characters

    form = edit_summary(page, pasted)
    status = form.locator(".autosave-status")
    expect(status).to_contain_text("Not saved: this holds at most 100,000 characters")
    expect(status).to_contain_text("Shorten it by 62,000")
    box = form.get_by_role("textbox", name="Incident summary")
    assert len(box.input_value()) == len(pasted)

    # Done does not close an editor whose text could not be saved, and the draft keeps it all.
    form.get_by_role("button", name="Done").click()
    expect(form).to_be_visible()
    draft = page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('hindsight:draft:'))"
        ".map(k => JSON.parse(localStorage.getItem(k)).text.length)"
    )
    assert draft == [len(pasted)]
    assert Section.objects.get(postmortem__incident=incident, key="summary").body == ""
    shot(page, "section-too-long")

    box.fill("The indexer stalled for 40 minutes.")
    expect(status).to_have_text("Saved")
