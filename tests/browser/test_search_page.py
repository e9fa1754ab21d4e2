"""Someone looks for an old write-up: the words marked in each passage, the block it is in,
a private incident of another team nowhere, and a word found too often said so plainly; on a
laptop and on a phone."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from tests import factories
from tests.browser.conftest import PHONE

LAPTOP = (1280, 800)


def written(owner, outsider_team_lead):
    now = timezone.now()
    pool = factories.incident(
        owner=owner, title="Connection pool exhausted on the orders database",
        started_at=now - timedelta(days=3),
    )  # fmt: skip
    summary = pool.postmortem.sections.get(key="summary")
    summary.body = "Orders failed for 40 minutes: every connection in the pool was held open."
    summary.save()
    factories.timeline_entry(pool, minutes=12, text="Pool saturation alert fired for orders-db")
    cause = factories.cause(pool, "Pool size was copied from staging", whys=0)
    cause.whys.create(
        question="Why was the pool too small?", answer="Nobody owned the pool settings",
        evidence="Config history shows the staging value", position=0,
    )  # fmt: skip
    factories.action_item(pool, title="Size the connection pool from peak load", owner=owner)
    older = factories.incident(
        owner=owner, title="Slow checkout after a deploy", started_at=now - timedelta(days=60)
    )
    factories.timeline_entry(older, minutes=5, text="The connection pool graph looked normal")
    team = factories.team("Ledger", lead=outsider_team_lead)
    hidden = factories.incident(
        owner=outsider_team_lead, title="Ledger connection pool leak", private=True,
        started_at=now - timedelta(days=1),
    )  # fmt: skip
    hidden.team = team
    hidden.save()
    return pool, hidden


def test_search_results_on_a_laptop_and_a_phone(browser_page, shot, accessible, owner, monkeypatch):
    pool, hidden = written(owner, factories.user("lena"))
    for viewport, name in [(LAPTOP, "laptop"), (PHONE, "phone")]:
        page = browser_page(owner, viewport=viewport)
        page.goto("/search/")
        form = page.locator("form.search-filters")
        form.get_by_label("Search everything written").fill("connection pool")
        form.get_by_role("button", name="Search").click()
        expect(page.get_by_role("status")).to_contain_text("places found")
        hits = page.locator(".search-hit")
        expect(hits.first).to_contain_text(pool.title)
        expect(hits.first.locator("mark").first).to_be_visible()
        expect(page.get_by_text("Ledger connection pool leak")).to_have_count(0)
        expect(page.locator(".search-hit .tag", has_text="Action item")).to_have_count(1)
        accessible(page)
        shot(page, f"search-{name}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport[0]

        week_ago = timezone.localdate() - timedelta(days=7)
        form.get_by_label("Started from").fill(week_ago.isoformat())
        form.get_by_role("button", name="Search").click()
        expect(page.get_by_text("Slow checkout after a deploy")).to_have_count(0)
        expect(hits.first).to_contain_text(pool.title)

        monkeypatch.setattr("search.queries.CAP", 3)
        page.goto("/search/?q=pool")
        expect(page.get_by_role("status")).to_contain_text(
            "More than 3 places found: these are the best of the 3 most recent."
        )
        accessible(page)
        shot(page, f"search-capped-{name}")
        monkeypatch.undo()

        page.locator(".search-hit a").first.click()
        expect(page).to_have_url(re.compile(r"/incidents/INC-\d+/#\w+-\d+$"))
