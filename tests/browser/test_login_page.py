"""The login page as a person sees it: the single sign-on button, and the lock-out message."""

from __future__ import annotations

from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import LAPTOP, PHONE


def test_the_login_page_offers_sso_and_says_when_sign_in_is_locked(
    browser, live_url, settings, shot
):
    settings.OIDC_RP_CLIENT_ID = "hindsight"
    settings.OIDC_PROVIDER_NAME = "Acme ID"
    factories.user("priya")
    context = browser.new_context(
        base_url=live_url, viewport={"width": LAPTOP[0], "height": LAPTOP[1]}
    )
    page = context.new_page()
    page.goto("/login/")
    expect(page.get_by_role("link", name="Sign in with Acme ID")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    shot(page, "login-sso-laptop")

    for attempt in range(5):
        page.get_by_label("Username").fill("priya")
        page.get_by_label("Password").fill(f"wrong {attempt}")
        page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Too many failed sign-ins; try again in 15 minutes or ask an admin to unlock your account."
    )
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    shot(page, "login-locked-laptop")
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    shot(page, "login-locked-phone")
    context.close()
