"""Someone who has made too many PDFs is told so in words, and offered the Markdown."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE


def test_a_pdf_past_the_rate_says_why_and_when_to_try_again(
    browser_page, owner, incident, settings, accessible, shot
):
    settings.HINDSIGHT_PDF_EXPORTS_PER_USER = 2
    settings.HINDSIGHT_PDF_EXPORT_WINDOW_SECONDS = 600
    settings.HINDSIGHT_CHROMIUM = "/nonexistent/chromium"  # the first two answer at once
    page = browser_page(owner)
    for _ in range(2):
        assert page.goto(f"/incidents/{incident.ref}/export.pdf").status == 503
    for name, viewport in (("laptop", (1280, 800)), ("phone", PHONE)):
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        response = page.goto(f"/incidents/{incident.ref}/export.pdf")

        assert response.status == 429
        assert 1 <= int(response.headers["retry-after"]) <= 600
        expect(page.get_by_text("You have asked for 2 PDFs in the last 10 minutes")).to_be_visible()
        expect(page.get_by_role("heading", name="Too many PDF exports")).to_be_visible()
        expect(page.get_by_text("download the Markdown, which has no limit")).to_be_visible()
        accessible(page)
        shot(page, f"pdf-export-limit-{name}")
