"""A premortem round in real browsers, served by uvicorn (ASGI) so the board is live: two
participants write alone, neither reads the other's reason until the facilitator reveals them,
then both read both; then grouping, voting and a preventive item."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from actions.models import ActionItem
from tests import factories
from tests.browser.conftest import LAPTOP, PHONE, VIEWER_TIMEZONE
from tests.servers import AsgiServer, server_env

ANNS = "The copy job locks the orders table at peak"
BENS = "Nobody has tried the rollback on real data"


@pytest.fixture(scope="module")
def premortem_server(django_db_setup, django_db_blocker):
    server = AsgiServer(server_env(DJANGO_DEBUG="true"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def round_people(transactional_db, django_db_serialized_rollback):
    fran = factories.user("fran", first_name="Fran", last_name="Okafor")
    ann = factories.user("ann", first_name="Ann", last_name="Lee")
    ben = factories.user("ben", first_name="Ben", last_name="Moss")
    team = factories.team("Payments", lead=fran)
    team.members.add(ann, ben)
    premortem = factories.premortem(
        facilitator=fran,
        team_=team,
        participants=[ann, ben],
        title="Move orders to the new database",
        description="Copy the orders table to the new cluster on Saturday night, then switch.",
        writing_minutes=10,
    )
    return premortem, fran, ann, ben


@pytest.fixture
def open_as(browser, premortem_server):
    contexts = []
    errors: list[str] = []

    def open_page(user, viewport=LAPTOP) -> Page:
        phone = viewport[0] < 600
        context = browser.new_context(
            base_url=premortem_server.url,
            viewport={"width": viewport[0], "height": viewport[1]},
            timezone_id=VIEWER_TIMEZONE,
            is_mobile=phone,
            has_touch=phone,
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

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, errors


def live(page: Page) -> None:
    expect(page.locator("[data-live-status]")).to_have_text("Live.")


def write(page: Page, text: str) -> None:
    page.get_by_label("How could this fail?").fill(text)
    page.get_by_role("button", name="Add my reason").click()
    expect(page.get_by_role("status").filter(has_text="Reason written")).to_be_visible()


def counts(page: Page):
    return page.locator("[data-reason-count]")


def test_two_participants_write_alone_and_read_each_other_only_after_the_reveal(
    round_people, open_as, accessible, shot
):
    premortem, fran, ann, ben = round_people
    url = premortem.get_absolute_url()
    a, b = open_as(ann), open_as(ben)
    for page in (a, b):
        page.goto(url)
        live(page)
    # The countdown runs from the deadline the server keeps.
    expect(a.locator("[data-countdown-clock]")).to_have_text(re.compile(r"^(10:00|9:[0-5]\d)$"))
    accessible(a)

    write(a, ANNS)
    expect(counts(b)).to_contain_text("1 reason written by 1 person")
    expect(b.get_by_text(ANNS)).to_have_count(0)

    write(b, BENS)
    expect(counts(a)).to_contain_text("2 reasons written by 2 people")
    expect(a.get_by_text(BENS)).to_have_count(0)
    expect(a.get_by_text(ANNS)).to_be_visible()
    expect(b.get_by_text(BENS)).to_be_visible()
    shot(a, "premortem-writing-laptop")
    accessible(b)
    on_phone = open_as(ben, viewport=PHONE)
    on_phone.goto(url)
    expect(on_phone.get_by_text(BENS)).to_be_visible()
    expect(on_phone.get_by_text(ANNS)).to_have_count(0)
    shot(on_phone, "premortem-writing-phone")
    accessible(on_phone)

    # The facilitator sees the counts, no reason, and reveals.
    f = open_as(fran)
    f.goto(url)
    live(f)
    expect(counts(f)).to_contain_text("2 reasons written by 2 people")
    expect(f.get_by_text(ANNS)).to_have_count(0)
    expect(f.get_by_text(BENS)).to_have_count(0)
    accessible(f)
    f.get_by_role("button", name="Reveal all reasons").click()

    for page in (a, b, f):
        expect(page.get_by_text(ANNS)).to_be_visible()
        expect(page.get_by_text(BENS)).to_be_visible()
    expect(a.get_by_role("heading", name="Write a reason, alone")).to_have_count(0)
    shot(b, "premortem-revealed-laptop")
    accessible(b)

    phone = open_as(ann, viewport=PHONE)
    phone.goto(url)
    expect(phone.get_by_text(BENS)).to_be_visible()
    shot(phone, "premortem-revealed-phone")
    accessible(phone)


def test_group_vote_and_file_a_preventive_item_live(round_people, open_as, accessible, shot):
    premortem, fran, ann, ben = round_people
    from premortems.rounds import phase_advance, reason_add

    reason_add(premortem=premortem, user=ann, text=ANNS)
    reason_add(premortem=premortem, user=ben, text="Orders table locked while copying")
    reason_add(premortem=premortem, user=ben, text=BENS)
    phase_advance(premortem=premortem, user=fran, to="revealed")
    url = premortem.get_absolute_url()
    f, a = open_as(fran), open_as(ann)
    f.goto(url)
    a.goto(url)
    live(a)

    f.get_by_role("button", name="Start grouping").click()
    expect(a.get_by_role("heading", name="Group the duplicates")).to_be_visible()
    a.get_by_label(ANNS).check()
    a.get_by_label("Orders table locked while copying").check()
    a.get_by_label("Name of the group").fill("The orders table is locked")
    a.get_by_role("button", name="Group the ticked reasons").click()
    expect(f.locator(".group-title").filter(has_text="The orders table is locked")).to_be_visible()
    shot(f, "premortem-grouping-laptop")
    accessible(f)

    f.get_by_role("button", name="Start voting").click()
    expect(a.get_by_text("You have 3 of 3 votes left.")).to_be_visible()
    a.get_by_role("button", name="Vote for The orders table is locked").click()
    expect(a.get_by_text("You have 2 of 3 votes left.")).to_be_visible()
    group = f.locator(".group").filter(has_text="The orders table is locked")
    expect(group.locator("[data-votes]")).to_have_text("1 vote")
    shot(a, "premortem-voting-laptop")
    accessible(a)

    f.get_by_role("button", name="Close the vote").click()
    f.get_by_text("Turn into a preventive action item").first.click()
    form = f.locator(".item-new[open]")
    form.get_by_label("Action item").fill("Copy the orders table in batches of 10k rows")
    form.get_by_label("Owner").select_option(label="Ann Lee")
    form.get_by_label("Due date").fill("2099-01-01")
    form.get_by_role("button", name="File the action item").click()
    expect(f.locator(".errors")).to_contain_text("Please fix")
    form = f.locator(".item-new[open]")
    form.get_by_label("Owner").select_option(label="Ann Lee")
    form.get_by_label("Due date").fill("2027-01-15")
    form.get_by_role("button", name="File the action item").click()
    expect(f.get_by_text("Prevented by")).to_be_visible()
    filed = a.get_by_role("link", name="Copy the orders table in batches of 10k rows")
    expect(filed).to_be_visible()
    item = ActionItem.objects.get()
    assert (item.owner, item.premortem_id) == (ann, premortem.pk)
    shot(f, "premortem-done-laptop")
    accessible(f)
    phone = open_as(fran, viewport=PHONE)
    phone.goto(url)
    shot(phone, "premortem-done-phone")
    accessible(phone)
