"""A team walks its open action items on the weekly review page, changing them in place."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import Page, expect

from actions.models import ActionItem, WeeklyReview
from tests import factories
from tests.browser.conftest import PHONE, VIEWER_TIMEZONE


def days(n: int) -> timedelta:
    return timedelta(days=n)


def viewers_today() -> date:
    """Today where the browser is: the page counts days overdue in the viewer's time zone."""
    return datetime.now(ZoneInfo(VIEWER_TIMEZONE)).date()


def a_teams_week(owner, teammate):
    """A team with the kinds of items a weekly review meets."""
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    team = factories.team("Payments", lead=lead)
    team.members.set([owner, teammate, lead])
    today = viewers_today()
    outage = factories.incident(owner=owner, team=team, level=1, title="Checkout failing")
    slow = factories.incident(owner=owner, team=team, level=3, title="Slow search")
    factories.action_item(
        outage,
        title="Rotate the signing keys",
        owner=teammate,
        priority=1,
        due_date=today - days(12),
        ticket_url="https://acme.atlassian.net/browse/PAY-112",
    )
    factories.action_item(
        outage, title="Alert on connection pool usage", owner=owner, due_date=today - days(3)
    )
    factories.action_item(
        slow, title="Add a search latency SLO", owner=teammate, priority=3, due_date=today - days(1)
    )
    factories.action_item(
        outage, title="Load test the checkout path", owner=owner, due_date=today + days(4)
    )
    factories.action_item(
        slow, title="Document the reindex runbook", owner=None, due_date=today + days(20)
    )
    stale = factories.action_item(
        slow, title="Retire the old indexer", owner=teammate, due_date=today + days(30)
    )
    ActionItem.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - days(20))
    factories.action_item(
        outage,
        title="Retry card captures",
        owner=owner,
        status="done",
        outcome="Captures retry three times with backoff",
        worth_it="yes",
    )
    return team


def group(page: Page, title: str):
    return page.get_by_role("region", name=re.compile(f"^{title}"))


def count(page: Page, label: str) -> str:
    nav = page.get_by_role("navigation", name="Groups")
    return nav.get_by_role("link", name=re.compile(f"^{label}")).inner_text()


def test_a_team_walks_its_week_and_changes_items_in_place(
    browser_page, shot, accessible, owner, teammate
):
    team = a_teams_week(owner, teammate)
    page = browser_page(teammate)
    page.get_by_role("link", name="Weekly review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly action-item review")
    page.get_by_label("Team", exact=True).select_option(label="Payments")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"team={team.pk}"))

    overdue = group(page, "Overdue")
    rows = overdue.get_by_role("row").filter(has=page.get_by_role("link", name="Update"))
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Rotate the signing keys")
    expect(rows.first).to_contain_text("12 days overdue")
    expect(rows.first.get_by_role("link", name="PAY-112")).to_have_attribute(
        "href", "https://acme.atlassian.net/browse/PAY-112"
    )
    expect(group(page, "No owner or no due date")).to_contain_text("Document the reindex")
    expect(group(page, "No change in 14 days")).to_contain_text("Retire the old indexer")
    expect(group(page, "Closed in the last 7 days")).to_contain_text(
        "Outcome: Captures retry three times with backoff · worth it: Yes"
    )
    assert count(page, "Overdue") == "Overdue 3"
    accessible(page)
    shot(page, "action-review-laptop")

    # Done asks for the outcome, in place, before it closes the item.
    keys = rows.filter(has_text="Rotate the signing keys")
    keys.get_by_role("link", name="Update Rotate the signing keys").click()
    form = page.get_by_role("form", name="Update Rotate the signing keys")
    expect(form.get_by_label("What changed")).to_be_hidden()
    form.get_by_label("Status").select_option(label="Done")
    expect(form.get_by_label("What changed")).to_be_visible()
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Say what changed")).to_be_visible()
    accessible(page)
    shot(page, "action-review-done-needs-outcome")
    form.get_by_label("What changed").fill("Keys rotate monthly from the vault")
    form.get_by_label("Was it worth it?").select_option(label="Partly")
    form.get_by_label("Evidence").fill("https://acme.atlassian.net/browse/PAY-112")
    form.get_by_role("button", name="Save").click()
    done = overdue.get_by_role("row").filter(has_text="Rotate the signing keys")
    expect(done).to_contain_text("Done")
    expect(done).to_contain_text("Outcome: Keys rotate monthly from the vault · worth it: Partly")
    expect(page.get_by_role("navigation", name="Groups")).to_contain_text("Overdue 2")

    # Snooze with a reason, then give another item to someone else.
    until = viewers_today() + days(14)
    pool = overdue.get_by_role("row").filter(has_text="Alert on connection pool usage")
    pool.get_by_role("link", name="Snooze Alert on connection pool usage").click()
    snooze = page.get_by_role("form", name="Snooze Alert on connection pool usage")
    snooze.get_by_label("New due date").fill(until.isoformat())
    snooze.get_by_label("Why it can wait").fill("Waiting for the pool metrics exporter")
    snooze.get_by_role("button", name="Snooze").click()
    snoozed = overdue.get_by_role("row").filter(has_text="Alert on connection pool usage")
    expect(snoozed).to_contain_text("Snoozed 1×: Waiting for the pool metrics exporter")
    expect(snoozed).to_contain_text(until.isoformat())

    slo = overdue.get_by_role("row").filter(has_text="Add a search latency SLO")
    slo.get_by_role("link", name="Update Add a search latency SLO").click()
    update = page.get_by_role("form", name="Update Add a search latency SLO")
    update.get_by_label("Owner").select_option(label="Priya Raman")
    update.get_by_label("Status").select_option(label="In progress")
    update.get_by_role("button", name="Save").click()
    moved = overdue.get_by_role("row").filter(has_text="Add a search latency SLO")
    expect(moved).to_contain_text("Priya Raman")
    expect(moved).to_contain_text("In progress")

    # Mark the week reviewed, with notes.
    page.get_by_label("Notes from this week's review").fill("Keys done; pool alert waits.")
    page.get_by_role("button", name="Mark this week reviewed").click()
    expect(page.get_by_text(re.compile("Payments marked reviewed for the week of"))).to_be_visible()
    expect(page.get_by_role("region", name="Payments: this week's review")).to_contain_text(
        "Keys done; pool alert waits."
    )
    expect(page.get_by_role("navigation", name="Groups")).to_contain_text("Overdue 1")
    shot(page, "action-review-after-laptop")

    keys_item = ActionItem.objects.get(title="Rotate the signing keys")
    assert (keys_item.status, keys_item.worth_it, keys_item.version) == ("done", "partly", 2)
    assert keys_item.history.first().history_user == teammate
    pool_item = ActionItem.objects.get(title="Alert on connection pool usage")
    assert (pool_item.due_date, pool_item.snooze_count) == (until, 1)
    assert WeeklyReview.objects.get().reviewed_by == teammate

    # An item's own page: every field, and who changed what.
    page.get_by_role("link", name="Rotate the signing keys", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rotate the signing keys")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("listitem")).to_have_count(2)
    expect(history.get_by_role("listitem").first).to_contain_text("Changed by Marcus Webb")
    expect(history.get_by_role("listitem").first).to_contain_text("Keys rotate monthly")
    accessible(page)
    shot(page, "action-item-page")
    page.go_back()

    # The printable version, as the printer sees it.
    page.get_by_role("link", name="Printable version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Action-item review")
    page.emulate_media(media="print")
    shot(page, "action-review-print")


def test_the_review_fits_a_phone(browser_page, shot, accessible, owner, teammate):
    a_teams_week(owner, teammate)
    page = browser_page(owner, viewport=PHONE)
    page.goto("/actions/review/")
    expect(group(page, "Overdue")).to_contain_text("Rotate the signing keys")
    overflow = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter(el => el.getBoundingClientRect().right
                > document.documentElement.clientWidth + 1)
            .filter(el => !el.closest(".visually-hidden"))
            .map(el => el.tagName + "." + el.className).slice(0, 5)"""
    )
    assert overflow == []
    accessible(page)
    shot(page, "action-review-phone")
