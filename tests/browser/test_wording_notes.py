"""A responder writes the analysis; notes on blaming words appear beside the text, not over it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from postmortems.models import Section
from tests import factories
from tests.browser.conftest import PHONE


def test_notes_appear_beside_the_text_and_go_when_it_is_reworded(
    browser_page, accessible, shot, owner, teammate
):
    incident = factories.incident(owner=owner, title="Card payments refused")
    section = Section.objects.get(postmortem__incident=incident, key="contributing-factors")
    page = browser_page(owner)
    page.goto(incident.get_absolute_url())

    page.get_by_role("button", name="Edit Contributing factors").click()
    box = page.get_by_role("textbox", name="Contributing factors")
    box.fill("Marcus should have known the pool was small; human error, really.")
    notes = page.get_by_role("complementary", name="Notes on wording")

    expect(notes.locator("mark")).to_have_text(["Marcus", "should have known", "human error"])
    expect(notes).to_contain_text("reasonable to the person at the time")
    # Beside the text on a laptop: to its right, not covering it.
    box_area, notes_area = box.bounding_box(), notes.bounding_box()
    assert notes_area["x"] >= box_area["x"] + box_area["width"]
    accessible(page)
    shot(page, "wording-notes-laptop")

    box.fill("The pool was sized for last year's traffic, and nothing alerted on it.")
    expect(notes.locator("mark")).to_have_count(0)
    # The text saved as it was typed, notes or not.
    expect(page.locator(".autosave-status")).to_have_text(re.compile("Saved"))
    section.refresh_from_db()
    assert "nothing alerted" in section.body


def test_a_timeline_entry_may_name_people_on_a_phone(browser_page, accessible, shot, owner):
    incident = factories.incident(owner=owner, title="Search index lagging")
    page = browser_page(owner, viewport=PHONE)
    page.goto(incident.get_absolute_url())

    page.get_by_role("button", name="Add timeline entry").click()
    form = page.get_by_role("form", name="New timeline entry")
    form.get_by_label("What happened").fill("Priya paged the database team")
    notes = form.get_by_role("complementary", name="Notes on wording")
    page.wait_for_timeout(1200)
    expect(notes.locator("mark")).to_have_count(0)

    form.get_by_label("What happened").fill("Priya forgot to page the database team")
    expect(notes.locator("mark")).to_have_text(["forgot"])
    # Under the text on a phone.
    assert notes.bounding_box()["y"] > form.get_by_label("What happened").bounding_box()["y"]
    accessible(page)
    shot(page, "wording-notes-phone")


def test_the_owner_acknowledges_a_note_before_publishing(browser_page, accessible, shot, owner):
    incident = factories.incident(owner=owner, title="Checkout slow")
    factories.publishable(incident, owner)
    factories.cause(incident, "Human error during the rotation, as the vendor put it")
    page = browser_page(owner)
    page.goto(f"{incident.get_absolute_url()}publishing/")

    expect(page.get_by_text("No open notes on blaming words")).to_be_visible()
    expect(page.get_by_text("1 note on wording is open")).to_be_visible()
    accessible(page)
    shot(page, "wording-checklist-laptop")
    page.get_by_label("Why the words may stay").fill("A quote from the vendor's report")
    page.get_by_role("button", name="Acknowledge “Human error”").click()

    expect(page.get_by_text("Note acknowledged.")).to_be_visible()
    expect(page.get_by_text("1 note on wording is open")).to_have_count(0)
    expect(page.locator(".wording-item.acknowledged")).to_contain_text("Acknowledged")
