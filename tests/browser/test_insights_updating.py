"""Right after a save, a lead reads the insights from before it, told that they are updating,
then the new ones once the background refresh ran; on a laptop and on a phone."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

from django.utils import timezone
from playwright.sync_api import expect

from insights import cache
from insights.tasks import refresh_figures
from tests import factories
from tests.browser.conftest import LAPTOP, PHONE


def test_the_figures_from_before_a_save_say_they_are_updating(
    browser_page, shot, accessible, owner
):
    today = timezone.localdate()
    # The worker's run is `refresh_figures()` below; nothing is sent to a broker.
    with mock.patch.object(refresh_figures, "apply_async", autospec=True) as queued:
        team = factories.team("Payments")
        for _ in range(2):
            factories.incident(owner=owner, team=team)
        refresh_figures()
        for viewport, name in [(LAPTOP, "laptop"), (PHONE, "phone")]:
            page = browser_page(owner, viewport=viewport)
            cache.forget_refresh(asked=False)  # a while after the last save
            page.goto(f"/insights/?period=custom&start={today - timedelta(days=30)}&end={today}")
            severity = page.get_by_role("region", name=re.compile("severity", re.I))
            expect(page.get_by_role("status").filter(has_text="Figures as of")).to_have_count(0)
            before = severity.get_by_role("table").inner_text()

            queued.reset_mock()
            factories.incident(owner=owner, team=team)  # a save, committed
            queued.assert_called_once()
            page.reload()
            note = page.get_by_role("status").filter(has_text="Figures as of")
            expect(note).to_contain_text(re.compile(r"Figures as of \d\d:\d\d \(.+\), updating"))
            assert severity.get_by_role("table").inner_text() == before
            accessible(page)
            shot(page, f"insights-updating-{name}")

            refresh_figures()
            page.reload()
            expect(note).to_have_count(0)
            assert severity.get_by_role("table").inner_text() != before
