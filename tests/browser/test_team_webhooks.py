"""A team lead adds a webhook, copies its secret, and sends it a test event."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import PHONE


def test_a_lead_adds_a_webhook_and_sends_a_test_event(browser_page, shot, accessible, settings):
    settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER = True
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    team = factories.team("Payments", lead=lead)
    page = browser_page(lead)
    page.goto(f"/teams/{team.slug}/webhooks/")
    expect(page.get_by_role("heading", name="Webhooks of Payments")).to_be_visible()
    accessible(page)

    page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks/hindsight")
    page.get_by_label("What it is for (optional)").fill("The on-call bot")
    page.get_by_label("An incident is opened").check()
    page.get_by_label("A postmortem is published").check()
    page.get_by_role("button", name="Add the webhook").click()
    secret = page.get_by_label("Signing secret for 127.0.0.1")
    expect(secret).to_have_value(team.webhooks.get().secret)
    accessible(page)
    shot(page, "team-webhooks-laptop")

    page.get_by_role("button", name="Send a test event to 127.0.0.1").click()
    expect(page.get_by_text("A test event is on its way to 127.0.0.1.")).to_be_visible()
    expect(page.get_by_label("Signing secret for 127.0.0.1")).to_have_count(0)
    expect(page.get_by_role("cell", name="Waiting to send")).to_be_visible()


def test_the_webhooks_page_reads_on_a_phone(browser_page, shot, accessible, settings):
    settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER = True
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    team = factories.team("Payments", lead=lead)
    team.webhooks.create(
        url="https://ops.example.com/hooks/hindsight",
        events=["incident.opened", "action_item.closed"],
        secret="whsec_x",
        created_by=lead,
    )
    page = browser_page(lead, viewport=PHONE)
    page.goto(f"/teams/{team.slug}/webhooks/")
    expect(page.get_by_role("button", name="Remove the webhook to ops.example.com")).to_be_visible()
    accessible(page)
    shot(page, "team-webhooks-phone")
