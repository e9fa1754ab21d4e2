"""A team lead connects GitHub; an item's owner files its ticket in one click."""

from __future__ import annotations

from playwright.sync_api import expect

from actions.models import TrackerConnection
from tests import factories
from tests.browser.conftest import PHONE
from tests.fakes import tracker_stand_in


def test_a_lead_connects_github_and_an_owner_files_a_ticket(
    browser_page, shot, accessible, settings
):
    settings.HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER = True
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    team = factories.team("Payments", lead=lead)
    team.members.set([lead, owner])
    incident = factories.incident(owner=owner, team=team, title="Checkout failing")
    item = factories.action_item(incident, title="Size the pool from traffic", owner=owner)

    with tracker_stand_in() as github:
        page = browser_page(lead)
        page.goto(f"/teams/{team.slug}/tracker/")
        accessible(page)
        page.get_by_label("Tracker", exact=True).select_option("GitHub Issues")
        page.get_by_label("Address", exact=True).fill(github.url)
        page.get_by_label("Project", exact=True).fill("acme/shop")
        page.get_by_label("Token (stored encrypted)").fill("ghp_example")
        page.get_by_role("button", name="Connect the tracker").click()
        expect(page.get_by_text("Connected to GitHub Issues.")).to_be_visible()
        secret = TrackerConnection.objects.get().webhook_secret
        expect(page.get_by_label("Webhook secret")).to_have_value(secret)
        expect(page.get_by_label("Webhook address")).to_have_value(
            f"http://127.0.0.1:8000/integrations/github/{team.slug}/webhook/"
        )
        accessible(page)
        shot(page, "team-tracker-laptop")

        mine = browser_page(owner, viewport=PHONE)
        mine.goto(f"/actions/{item.pk}/")
        mine.get_by_role("button", name="Create its ticket in acme/shop").click()
        expect(mine.get_by_text("Ticket shop#42 created and linked.")).to_be_visible()
        expect(mine.get_by_role("link", name="shop#42")).to_have_attribute(
            "href", "https://github.com/acme/shop/issues/42"
        )
        accessible(mine)
        shot(mine, "action-item-ticket-phone")
        assert [call["body"]["title"] for call in github.calls] == ["Size the pool from traffic"]
