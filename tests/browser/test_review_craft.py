"""The review's craft as a person meets it: a cause left uncovered, its risk accepted on the
page; an item closed as done with its evidence; its re-check answered in the weekly review."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from actions.models import ActionItem
from postmortems.models import AcceptedRisk
from tests import factories
from tests.browser.conftest import PHONE
from tests.browser.test_document_editing import fits_the_screen


def test_an_uncovered_cause_gets_its_risk_accepted_in_place(browser_page, shot, accessible):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    factories.user("lena", first_name="Lena", last_name="Hoffmann")
    incident = factories.incident(owner=owner, title="Checkout payments failing")
    covered = factories.cause(incident, "The connection pool ran dry under peak load", whys=1)
    factories.action_item(
        incident,
        title="Alert on pool saturation",
        cause=covered,
        owner=owner,
        impact="high",
        effort="low",
    )
    factories.cause(incident, "The card network answered slowly for two minutes")

    page = browser_page(owner)
    page.goto(incident.get_absolute_url())
    causes = page.get_by_role("region", name="Causes and their whys")
    expect(causes.get_by_text("Covered", exact=True)).to_have_count(1)
    expect(causes.get_by_text("Not covered", exact=True)).to_have_count(1)
    expect(page.get_by_text("Quick win")).to_be_visible()

    slow = causes.locator("article.cause", has_text="card network")
    slow.get_by_role("button", name="Accept the risk of this cause").click()
    form = page.get_by_role("form", name="New accepted risk")
    form.get_by_role("button", name="Save").click()
    expect(form).to_contain_text("Say who accepts the risk")
    expect(form).to_contain_text("Pick the day to look at it again")
    accessible(page)

    revisit = timezone.localdate() + timedelta(days=90)
    form.get_by_label("Accepted by").select_option(label="Lena Hoffmann")
    form.get_by_label("Why it is accepted").fill(
        "Rare and outside our control; a second acquirer costs more than the lost orders."
    )
    form.get_by_label("Look at it again on").fill(revisit.isoformat())
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    expect(causes.get_by_text("Not covered", exact=True)).to_have_count(0)
    slow = causes.locator("article.cause", has_text="card network")
    expect(slow).to_contain_text(f"accepted by Lena Hoffmann · look at it again on {revisit}")
    risk = AcceptedRisk.objects.get()
    assert risk.accepted_by.username == "lena" and risk.revisit_on == revisit
    accessible(page)
    shot(page, "craft-coverage-laptop")

    phone = browser_page(owner, viewport=PHONE)
    phone.goto(f"{incident.get_absolute_url()}#causes")
    expect(phone.get_by_text("Covered", exact=True)).to_have_count(2)
    fits_the_screen(phone)
    shot(phone, "craft-coverage-phone")


def test_done_asks_for_evidence_and_the_recheck_comes_back(browser_page, shot, accessible):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.incident(owner=owner, title="Checkout payments failing")
    today = timezone.localdate()
    item = factories.action_item(
        incident, title="Alert on pool saturation", owner=owner, due_date=today + timedelta(3)
    )

    page = browser_page(owner)
    page.goto("/actions/review/")
    row = page.locator("tr.action-row", has_text="Alert on pool saturation")
    row.get_by_role("link", name="Update Alert on pool saturation").click()
    form = page.get_by_role("form", name="Update Alert on pool saturation")
    expect(form.get_by_label("Evidence")).to_be_hidden()
    form.get_by_label("Status").select_option("done")
    expect(form.get_by_label("Evidence")).to_be_visible()
    expect(form.get_by_label("Re-check on")).to_be_visible()
    form.get_by_label("What changed").fill("Pages at 80% of the pool for two minutes")
    form.get_by_label("Was it worth it?").select_option("yes")
    form.get_by_role("button", name="Save").click()
    expect(form).to_contain_text("Link the evidence")
    accessible(page)
    shot(page, "craft-evidence-asked-laptop")

    form.get_by_label("Evidence").fill("https://github.com/acme/shop/pull/7")
    form.get_by_label("Re-check on").fill((today + timedelta(days=30)).isoformat())
    form.get_by_role("button", name="Save").click()
    expect(form).to_have_count(0)
    item.refresh_from_db()
    assert (item.status, item.evidence_url) == ("done", "https://github.com/acme/shop/pull/7")

    # A month later: the re-check day has come.
    ActionItem.objects.filter(pk=item.pk).update(recheck_on=today)
    page.goto("/actions/review/")
    group = page.get_by_role("region", name="Due for a re-check")
    group.get_by_role("link", name="Re-check Alert on pool saturation").click()
    recheck = page.get_by_role("form", name="Re-check Alert on pool saturation")
    recheck.get_by_label("Yes, still working").check()
    recheck.get_by_label("What you looked at").fill("The alert fired in last week's drill")
    accessible(page)
    shot(page, "craft-recheck-laptop")
    recheck.get_by_role("button", name="Record the re-check").click()
    expect(recheck).to_have_count(0)
    item.refresh_from_db()
    assert item.rechecked_on == today

    phone = browser_page(owner, viewport=PHONE)
    phone.goto(f"/actions/{item.pk}/")
    expect(phone.get_by_text("The alert fired in last week's drill").first).to_be_visible()
    fits_the_screen(phone)
    shot(phone, "craft-item-phone")
