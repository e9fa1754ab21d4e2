"""A person makes an API token and revokes it; another imports a Slack export into a timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.tokens import api_token_for_bearer
from incidents.models import TimelineEntry
from tests import factories
from tests.browser.conftest import PHONE, VIEWER_TIMEZONE

SLACK = (
    Path(__file__).parent.parent / "fixtures" / "chat" / "slack_incident_channel_2025-11-30.json"
)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["laptop", "phone"])
def test_make_a_token_see_it_once_and_revoke_it(browser_page, owner, shot, viewport):
    page = browser_page(owner, **({"viewport": viewport} if viewport else {}))
    page.goto("/actions/preferences/")
    page.get_by_role("link", name="manage your API tokens").click()
    page.get_by_label("What is it for?").fill("deploy script")
    page.get_by_label("It may").select_option("write")
    page.get_by_role("button", name="Make a token").click()
    token = page.get_by_label("Token “deploy script”").input_value()
    assert api_token_for_bearer(token).scope == "write"
    shot(page, f"api-tokens-{'phone' if viewport else 'laptop'}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke token “deploy script”").click()
    expect(page.get_by_text("stopped working just now")).to_be_visible()
    assert api_token_for_bearer(token) is None
    page.reload()
    expect(page.get_by_label("Token “deploy script”")).to_have_count(0)


def test_import_a_slack_export_into_the_timeline(browser_page, owner, shot):
    incident = factories.incident(owner=owner)
    page = browser_page(owner)
    page.goto(incident.get_absolute_url())
    page.get_by_role("link", name="Import from chat").click()
    # The page starts from the viewer's own time zone.
    expect(page.get_by_label("Time zone of the times in the chat")).to_have_value(VIEWER_TIMEZONE)
    page.get_by_label("Or upload a Slack export file (.json)").set_input_files(str(SLACK))
    page.get_by_label("Time zone of the times in the chat").fill("Asia/Tokyo")
    page.get_by_role("button", name="Show the messages").click()
    # 14:04:12 UTC is 23:04:12 in Tokyo.
    expect(page.locator("time", has_text="23:04:12")).to_be_visible()
    expect(page.locator('input[name="line"]:checked')).to_have_count(3)
    page.get_by_label("Add the message of PagerDuty at 23:01:27").check()
    shot(page, "chat-import-preview")
    page.get_by_role("button", name="Add the ticked messages to the timeline").click()
    expect(page.get_by_text("Added 4 messages to the timeline.")).to_be_visible()
    chat = incident.timeline.filter(source=TimelineEntry.Source.CHAT)
    assert chat.count() == 4
    assert chat.filter(text__startswith="PagerDuty: Triggered").exists()
