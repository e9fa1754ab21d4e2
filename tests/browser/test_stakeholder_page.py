"""An engineer publishes a postmortem and sends an executive a link that shows the right thing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from actions.models import ActionItem
from tests import factories
from tests.browser.conftest import PHONE


@pytest.fixture
def written(owner, teammate):
    started = timezone.now() - timedelta(hours=5)
    team = factories.team("Payments", lead=owner)
    team.members.add(owner, teammate)
    incident = factories.incident(
        owner=owner,
        team=team,
        title="Card payments failed at checkout",
        started_at=started,
        detected_at=started + timedelta(minutes=4),
        resolved_at=started + timedelta(minutes=51),
        status="resolved",
        customer_facing=True,
    )
    return factories.publishable(incident, teammate)


def publish_and_make_link(page: Page, incident, label: str, accessible, shot=None) -> str:
    """From the document page: review, publish and make a link, in a panel under the header."""
    page.goto(incident.get_absolute_url())
    page.get_by_role("link", name="Review and publish").click()
    review = page.get_by_role("region", name="Review and publish")
    accessible(page)
    review.get_by_role("button", name="Ask for review").click()
    expect(review.get_by_text("Sent for review.")).to_be_visible()
    expect(page.get_by_text("Postmortem · In review", exact=True)).to_be_visible()
    review.get_by_role("button", name="Publish…", exact=True).click()
    confirm = review.get_by_role("alertdialog", name="Publish version 1 now?")
    expect(confirm).to_contain_text("Stakeholder links show this version from now on")
    if shot:
        shot(page, "publish-confirmation")
    confirm.get_by_role("button", name="Yes, publish version 1").click()
    expect(review.get_by_text("Published.", exact=True)).to_be_visible()
    expect(page.get_by_text("Postmortem published", exact=True)).to_be_visible()
    # The side label follows the status chip without a reload.
    expect(page.get_by_text("Postmortem · Published", exact=True)).to_be_visible()
    assert page.url.endswith(incident.get_absolute_url())

    page.get_by_role("link", name="Share with stakeholders").click()
    links = page.get_by_role("region", name="Stakeholder links")
    links.get_by_label("Who is it for?").fill(label)
    links.get_by_label("Hide people's names").check()
    links.get_by_role("button", name="Make a link").click()
    address = links.get_by_label(f"Link for {label}")
    expect(address).to_be_visible()
    accessible(page)
    return address.input_value()


def test_an_executive_reads_exactly_the_published_postmortem(
    browser, browser_page, live_url, written, owner, shot, settings, accessible
):
    settings.HINDSIGHT_READER_REFRESH_SECONDS = 1
    engineer = browser_page(owner)
    url = publish_and_make_link(engineer, written, "Exec staff", accessible, shot)
    assert re.fullmatch(rf"{live_url}/s/[A-Za-z0-9_-]{{43}}/", url)

    executive = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    executive.goto(url)
    expect(executive.get_by_role("heading", level=1)).to_have_text(written.title)
    assert executive.locator("h2").all_inner_texts() == [
        "Incident summary",
        "Business impact",
        "Impact",
        "Aftercare",
        "Timeline",
        "Root cause analysis",
        "Action items",
    ]
    expect(executive.get_by_text("Affected customers got a voucher.")).to_be_visible()
    # Read-only, blameless, nothing internal.
    for role in ("button", "textbox", "checkbox", "combobox"):
        expect(executive.get_by_role(role)).to_have_count(0)
    expect(executive.get_by_text("Paging worked")).to_have_count(0)
    expect(executive.get_by_text("Priya Raman")).to_have_count(0)
    expect(executive.get_by_text("Marcus Webb")).to_have_count(0)
    expect(executive.get_by_text("DRAFT")).to_have_count(0)
    assert executive.context.cookies() == []
    accessible(executive)
    shot(executive, "stakeholder-page")

    phone = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}).new_page()
    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text(written.title)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], "the page scrolls sideways on a phone"
    shot(phone, "stakeholder-page-phone")

    no_script = browser.new_context(java_script_enabled=False).new_page()
    no_script.goto(url)
    expect(no_script.get_by_text("Checkout failed for 47 minutes")).to_be_visible()

    # Action items move on after publishing; the open page follows by itself.
    ActionItem.objects.filter(incident=written).update(status=ActionItem.Status.DONE)
    actions = executive.get_by_role("region", name="Action items")
    expect(actions.get_by_text("Done", exact=True)).to_be_visible()

    # Revoked: the open page says so at once, and so does opening the link again.
    engineer.on("dialog", lambda dialog: dialog.accept())
    engineer.get_by_role("button", name="Revoke link for Exec staff").click()
    expect(engineer.get_by_text("The link for Exec staff is revoked")).to_be_visible()
    expect(
        executive.get_by_role("heading", name="This link is no longer available")
    ).to_be_visible()
    expect(executive.get_by_text("Checkout failed for 47 minutes")).to_have_count(0)
    response = phone.goto(url)
    assert response.status == 404
    for page in (executive.context, phone.context, no_script.context):
        page.close()


def test_printing_the_document_page_leaves_the_controls_out(browser_page, written, owner):
    page = browser_page(owner)
    page.goto(written.get_absolute_url())
    expect(page.get_by_role("link", name="Review and publish")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.get_by_role("link", name="Review and publish")).to_be_hidden()
    expect(page.get_by_role("button", name="Edit incident details")).to_be_hidden()
    expect(page.get_by_role("button", name="Add timeline entry")).to_be_hidden()
    expect(page.get_by_role("heading", name="Incident summary")).to_be_visible()
    entry = page.locator(".timeline .entry").first
    assert entry.evaluate("el => getComputedStyle(el).breakInside") == "avoid-page"
