"""Two responders on one active incident, served by uvicorn: what one does, the other sees."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.browser.test_live_editing import asgi_server, asgi_url, open_page, people  # noqa: F401


def test_entries_state_and_updates_reach_the_other_page_without_a_reload(people, open_page):  # noqa: F811
    priya, marcus = people
    incident = factories.incident(owner=priya, level=2)
    a, b = open_page(priya), open_page(marcus)
    for page in (a, b):
        page.goto(f"/incidents/{incident.ref}/active/")
        expect(page.locator("#live-status")).to_have_text("Live")
    b.evaluate("window.notReloaded = true")

    a.get_by_label("What just happened?").fill("escalated: paged the database team")
    a.get_by_label("What just happened?").press("Enter")
    entry = b.locator(".timeline .entry").filter(has_text="paged the database team")
    expect(entry).to_contain_text("Escalation")

    a.get_by_role("button", name="Mark mitigated").click()
    expect(b.locator("#active-state .status")).to_have_text("Monitoring")

    a.get_by_label("What we know").fill("Writes to db-7 were failing.")
    a.get_by_label("What we are doing").fill("Watching replication catch up.")
    a.get_by_role("button", name="Post update").click()
    expect(b.locator(".latest-update")).to_contain_text("Writes to db-7 were failing.")

    # Presence: Marcus sees that the commander is on the page.
    expect(b.locator(f"[data-person='{priya.pk}']")).to_contain_text("here now")
    assert b.evaluate("window.notReloaded") is True
