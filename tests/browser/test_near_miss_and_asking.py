"""A near miss in the incident list, and someone asking for its postmortem."""

from __future__ import annotations

from django.core import mail
from playwright.sync_api import expect

from kernel import delivery as engine
from tests import factories
from tests.browser.conftest import PHONE
from tests.browser.test_document_editing import fits_the_screen


def test_someone_asks_for_the_postmortem_of_a_near_miss(browser_page, shot, accessible):
    owner = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    sam = factories.user("sam", first_name="Sam", last_name="Okafor")
    factories.incident(owner=owner, title="Checkout payments failing")
    near = factories.incident(
        owner=owner, level=3, title="Expiring certificate caught in staging", near_miss=True
    )

    page = browser_page(sam)
    page.goto("/incidents/")
    expect(page.get_by_text("1 incident · 1 near miss")).to_be_visible()
    row = page.get_by_role("row", name="Expiring certificate")
    expect(row.get_by_text("Near miss")).to_be_visible()
    accessible(page)
    shot(page, "craft-near-miss-list-laptop")

    # Still open, so the list leads to its active view; the write-up is its document page.
    row.get_by_role("link").click()
    page.goto(near.get_absolute_url())
    page.get_by_role("link", name="Ask for a postmortem").click()
    form = page.get_by_role("form", name="Ask for a postmortem")
    form.get_by_role("button", name="Ask for a postmortem").click()
    expect(form.get_by_role("alert")).to_contain_text("Please fix the fields marked below.")
    form.get_by_label("Why a postmortem would help").fill(
        "The renewal job has failed silently before; only the smoke test caught it."
    )
    form.get_by_role("button", name="Ask for a postmortem").click()
    expect(page.get_by_text("Asked. Lena Hoffmann is told by e-mail.")).to_be_visible()
    expect(page.get_by_text("The renewal job has failed silently before")).to_be_visible()
    accessible(page)
    shot(page, "craft-ask-laptop")

    engine.deliver_due()
    assert [message.to for message in mail.outbox] == [["lena@example.com"]]

    phone = browser_page(sam, viewport=PHONE)
    phone.goto(f"{near.get_absolute_url()}ask/")
    fits_the_screen(phone)
    shot(phone, "craft-ask-phone")
