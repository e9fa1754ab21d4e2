"""Milestones set in one browser redraw the header's figures and picture in another, live."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import expect

from incidents.models import TimelineEntry
from tests import factories
from tests.browser.conftest import VIEWER_TIMEZONE
from tests.browser.test_live_editing import (  # noqa: F401 (fixtures)
    asgi_server,
    asgi_url,
    open_page,
    people,
    wait_live,
)


def test_milestones_and_entries_redraw_the_picture_on_every_open_page(  # noqa: F811
    people,  # noqa: F811
    open_page,  # noqa: F811
    shot,
):
    priya, marcus = people
    started = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    incident = factories.incident(owner=priya, title="Checkout 502s", started_at=started)
    alert, _, rollback = [
        factories.timeline_entry(incident, minutes=minutes, kind=kind, text=text)
        for minutes, kind, text in [
            (12, TimelineEntry.Kind.DETECTION, "Error-rate alert fired"),
            (19, TimelineEntry.Kind.RESPONSE, "Priya took it on"),
            (47, TimelineEntry.Kind.MITIGATION, "Rolled back the gateway"),
        ]
    ]

    reader = open_page(marcus)
    reader.goto(incident.get_absolute_url())
    wait_live(reader)
    header = reader.get_by_role("region", name="Incident details")
    picture = header.get_by_role("img")
    expect(header.get_by_text("after 12m")).to_have_count(0)

    editor = open_page(priya)
    editor.goto(incident.get_absolute_url())
    editor.get_by_role("link", name="Set milestones from the timeline").click()
    editor.get_by_label("Detected").select_option(value=str(alert.pk))
    editor.get_by_label("Mitigated").select_option(value=str(rollback.pk))
    editor.get_by_role("button", name="Save milestones").click()
    expect(editor.get_by_role("region", name="Incident details")).to_contain_text("after 12m")

    # The other page was not reloaded: its header came down the event stream.
    expect(header).to_contain_text("after 12m")
    expect(header).to_contain_text("after 47m")
    expect(picture).to_have_attribute(
        "aria-label", re.compile("Waiting for a responder 7m, Responding 28m")
    )
    expect(header.locator(".picture-metrics")).to_contain_text("Time to mitigate")
    shot(reader, "milestones-live-reader-laptop")

    # A new entry is a new marker on the picture of every open page.
    markers = header.locator(".picture-svg .marker")
    entries = incident.timeline.count()
    expect(markers).to_have_count(entries)
    timeline = editor.get_by_role("region", name="Timeline")
    timeline.get_by_role("button", name="Add timeline entry").click()
    at = (started + timedelta(minutes=30)).astimezone(ZoneInfo(VIEWER_TIMEZONE))
    timeline.get_by_label("Time", exact=True).fill(f"{at:%Y-%m-%d %H:%M:%S}")
    timeline.get_by_label("What happened").fill("Status page updated")
    timeline.get_by_role("button", name="Save").click()
    expect(reader.get_by_role("region", name="Timeline")).to_contain_text("Status page updated")
    expect(reader.locator(".doc-header .picture-svg .marker")).to_have_count(entries + 1)
    assert incident.timeline.count() == entries + 1
