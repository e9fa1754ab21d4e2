"""Two responders in two real browsers co-edit one postmortem, served by uvicorn (ASGI)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from postmortems.models import ConflictCopy, Section
from tests import factories
from tests.browser.conftest import LAPTOP, VIEWER_TIMEZONE
from tests.servers import AsgiServer, server_env

PARAGRAPHS = "Payments failed.\n\nThe pool ran dry.\n\nWe rolled back."


@pytest.fixture(scope="module")
def asgi_server(django_db_setup, django_db_blocker):
    server = AsgiServer(server_env(DJANGO_DEBUG="true"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def asgi_url(asgi_server) -> str:
    return asgi_server.url


@pytest.fixture
def people(transactional_db, django_db_serialized_rollback):
    priya = factories.user("priya", first_name="Priya", last_name="Raman")
    marcus = factories.user("marcus", first_name="Marcus", last_name="Webb")
    return priya, marcus


@pytest.fixture
def open_page(browser, asgi_url):
    contexts = []
    errors: list[str] = []

    def open_as(user) -> Page:
        context = browser.new_context(
            base_url=asgi_url,
            viewport={"width": LAPTOP[0], "height": LAPTOP[1]},
            timezone_id=VIEWER_TIMEZONE,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto("/login/")
        page.get_by_label("Username").fill(user.get_username())
        page.get_by_label("Password").fill(factories.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not errors, errors


def summary_section(incident) -> Section:
    return Section.objects.get(postmortem__incident=incident, key="summary")


def edit_summary(page: Page):
    page.get_by_role("button", name="Edit Incident summary").click()
    box = page.get_by_role("form", name="Incident summary").get_by_role("textbox")
    expect(box).to_be_visible()
    return box


def wait_live(page: Page) -> None:
    expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()


def test_presence_shows_who_is_here_and_clears_when_they_leave(people, open_page, shot):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(a)
    presence = a.get_by_label("Who has this document open")
    expect(presence.get_by_label("Marcus Webb")).to_be_visible()
    expect(presence.get_by_label("Priya Raman (you)")).to_be_visible()

    edit_summary(b)
    expect(a.get_by_role("region", name="Incident summary")).to_contain_text(
        "Marcus Webb is editing"
    )
    shot(a, "live-presence-laptop")

    b.close()
    expect(presence.get_by_label("Marcus Webb")).to_have_count(0, timeout=30_000)
    expect(a.get_by_text("Marcus Webb is editing")).to_have_count(0)


def test_typing_in_one_browser_shows_in_the_other_without_a_reload(people, open_page, shot):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(b)

    box = edit_summary(a)
    box.type("Card payments failed for 47 minutes.")
    expect(a.get_by_role("form", name="Incident summary")).to_contain_text("Saved")

    summary = b.get_by_role("region", name="Incident summary")
    expect(summary).to_contain_text("Card payments failed for 47 minutes.")
    expect(summary).to_contain_text("Changed by Priya Raman")
    shot(b, "live-change-seen-laptop")

    # An added timeline entry appears in the other browser too.
    timeline = a.get_by_role("region", name="Timeline")
    timeline.get_by_role("button", name="Add timeline entry").click()
    timeline.get_by_label("Time", exact=True).fill("2026-11-20 10:15:30")
    timeline.get_by_label("What happened").fill("Rolled back to 4.12.0")
    timeline.get_by_role("button", name="Save").click()
    expect(b.get_by_role("region", name="Timeline")).to_contain_text("Rolled back to 4.12.0")


def test_two_people_editing_one_section_both_keep_their_text(people, open_page, shot):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    section = summary_section(incident)
    section.body = PARAGRAPHS
    section.version = 2
    section.save()
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(a)
    wait_live(b)
    box_a, box_b = edit_summary(a), edit_summary(b)

    # Both type at once, at different places.
    box_a.press("Control+Home")
    box_a.type("Card ")
    box_b.press("Control+End")
    box_b.type(" Then we added an alert.")

    merged = "Card Payments failed.\n\nThe pool ran dry.\n\nWe rolled back. Then we added an alert."
    expect(box_a).to_have_value(merged, timeout=15_000)
    expect(box_b).to_have_value(merged, timeout=15_000)
    section.refresh_from_db()
    assert section.body == merged
    # Priya's caret stayed where she was typing, after "Card ".
    assert a.evaluate("document.activeElement.selectionStart") == len("Card ")
    shot(b, "live-merged-laptop")


def test_an_unmergeable_edit_is_kept_and_offered_beside_the_other(people, open_page, shot):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    section = summary_section(incident)
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    box_a, box_b = edit_summary(a), edit_summary(b)
    # Marcus's browser is cut off while both write the same sentence differently.
    b.context.set_offline(True)
    box_b.fill("The database ran out of connections.")
    box_a.fill("A bad deploy exhausted the pool.")
    expect(a.get_by_role("form", name="Incident summary")).to_contain_text("Saved")
    b.context.set_offline(False)
    box_b.press("End")
    box_b.type(" ")

    form_b = b.get_by_role("form", name="Incident summary")
    expect(form_b.get_by_role("alert")).to_contain_text("could not be merged")
    expect(form_b.get_by_role("alert")).to_contain_text("A bad deploy exhausted the pool.")
    shot(b, "live-conflict-laptop")
    form_b.get_by_role("button", name="Edit both").click()
    expect(box_b).to_have_value(
        "A bad deploy exhausted the pool.\n\nThe database ran out of connections.\n"
    )
    copy = ConflictCopy.objects.get(section=section)
    assert copy.text.startswith("The database ran out of connections.")
    assert copy.author == marcus


def test_a_page_that_was_offline_catches_up(people, open_page, asgi_server):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    a, b = open_page(priya), open_page(marcus)
    # Marcus's page keeps its own clock, so the test can skip the wait its back-off would make.
    b.clock.install()
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(b)
    # Marcus's laptop loses the network, and the server restarts while he is away.
    b.context.set_offline(True)
    asgi_server.restart()
    expect(b.get_by_role("status").filter(has_text="Offline")).to_be_visible(timeout=15_000)

    box = edit_summary(a)
    box.type("Written while Marcus was offline.")
    expect(a.get_by_role("form", name="Incident summary")).to_contain_text("Saved")

    b.context.set_offline(False)
    b.clock.run_for(30_000)  # the longest back-off between two attempts
    expect(b.get_by_role("status").filter(has_text="Reconnected")).to_be_visible()
    expect(b.get_by_role("region", name="Incident summary")).to_contain_text(
        "Written while Marcus was offline."
    )


def test_typed_text_survives_a_closed_tab(people, open_page):
    priya, _ = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    page = open_page(priya)
    page.goto(incident.get_absolute_url())
    box = edit_summary(page)
    page.context.set_offline(True)
    box.type("Kept in the browser until the server has it.")
    expect(page.get_by_role("form", name="Incident summary")).to_contain_text("Offline")
    page.close()

    again = page.context.new_page()
    page.context.set_offline(False)
    again.goto(incident.get_absolute_url())
    expect(again.get_by_role("region", name="Incident summary")).to_contain_text(
        "Kept in the browser until the server has it."
    )
    assert summary_section(incident).body == "Kept in the browser until the server has it."
