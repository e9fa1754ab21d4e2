"""Clicks that race live changes, in two real browsers: an Edit answered after a peer's save
catches up with it without losing a keystroke typed meanwhile, and no form is lost to a change
that lands while it is on its way."""

from __future__ import annotations

from playwright.sync_api import expect

from postmortems.models import ConflictCopy, Section
from tests import factories
from tests.browser import test_live_editing as live
from tests.browser.test_live_editing import summary_section, wait_live

# The two-browser set-up of the live editing tests: one uvicorn, two signed-in people.
asgi_server = live.asgi_server
asgi_url = live.asgi_url
people = live.people
open_page = live.open_page

ROUNDS = 20
# What the page script announced, kept where the test can read it.
RECORD_CHANGES = """() => {
  window.seenChanges = [];
  document.addEventListener("hindsight:change", (event) => window.seenChanges.push(event.detail));
}"""


def test_an_edit_answered_after_a_peer_saved_opens_on_the_peer_text(people, open_page, shot):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    section = summary_section(incident)
    a, b = open_both_on(incident, priya, marcus, open_page)

    # Priya's Edit is answered by the server at once, but the answer is held back on its way
    # to her browser: it carries the text as it was before Marcus's save below.
    held = []

    def hold_the_first(route):
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))

    a.route(f"**/section/{section.pk}/edit/", hold_the_first)
    a.get_by_role("button", name="Edit Incident summary").click()
    while not held:
        a.wait_for_timeout(20)

    box = b.get_by_role("form", name="Incident summary").get_by_role("textbox")
    b.get_by_role("button", name="Edit Incident summary").click()
    box.fill("Marcus saved this while Priya's Edit was on its way.")
    expect(b.get_by_role("form", name="Incident summary")).to_contain_text("Saved")
    saved = Section.objects.get(pk=section.pk).version
    # The event of Marcus's save has reached Priya's page before her edit form.
    a.wait_for_function(
        "version => window.seenChanges.some(c => c.kind === 'section' && c.version >= version)",
        arg=saved,
    )

    route, stale = held[0]
    route.fulfill(response=stale)
    form = a.get_by_role("form", name="Incident summary")
    expect(form).to_be_visible()
    expect(form.get_by_role("textbox")).to_have_value(
        "Marcus saved this while Priya's Edit was on its way."
    )
    expect(form.locator("input[name=base_version]")).to_have_value(str(saved))
    shot(a, "live-race-edit-opens-on-newest-laptop")

    # A save landing while her form is open does not replace it: it merges into it.
    b.get_by_role("form", name="Incident summary").get_by_role("textbox").fill(
        "Marcus saved this while Priya's Edit was on its way. And again."
    )
    expect(b.get_by_role("form", name="Incident summary")).to_contain_text("Saved")
    expect(form.get_by_role("textbox")).to_have_value(
        "Marcus saved this while Priya's Edit was on its way. And again."
    )
    expect(form).to_be_visible()


def test_two_people_editing_one_section_in_turns_keep_every_line(people, open_page):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    section = summary_section(incident)
    section.body = "The middle.\n"
    section.save()
    pages = {"Priya": open_page(priya), "Marcus": open_page(marcus)}
    for page in pages.values():
        page.goto(incident.get_absolute_url())
        wait_live(page)
    # Priya writes above the text, Marcus below it, so every merge is a clean one.
    ends = {"Priya": "Control+Home", "Marcus": "Control+End"}
    opened = 0
    for number in range(ROUNDS):
        # Who clicks Edit first alternates; the other clicks while the first one's form and
        # save are under way, so Edit clicks meet live changes in both directions.
        order = ["Priya", "Marcus"] if number % 2 == 0 else ["Marcus", "Priya"]
        forms = {}
        for name in order:
            page = pages[name]
            page.get_by_role("button", name="Edit Incident summary").click()
            forms[name] = page.get_by_role("form", name="Incident summary")
        for name in order:
            expect(forms[name]).to_be_visible()
            opened += 1
            box = forms[name].get_by_role("textbox")
            box.press(ends[name])
            line = f"{name} {number}"
            box.press_sequentially(f"{line}\n" if name == "Priya" else f"\n{line}")
        for name in order:
            expect(forms[name]).to_contain_text("Saved")
        for name in order:
            forms[name].get_by_role("button", name="Done").click()
            expect(forms[name]).to_have_count(0)
    assert opened == 2 * ROUNDS

    body = Section.objects.get(pk=section.pk).body
    for number in range(ROUNDS):
        assert f"Priya {number}" in body and f"Marcus {number}" in body, body
    assert "The middle." in body
    assert not ConflictCopy.objects.filter(section=section).exists()
    for page in pages.values():
        region = page.get_by_role("region", name="Incident summary")
        expect(region).to_contain_text(f"Priya {ROUNDS - 1}")
        expect(region).to_contain_text(f"Marcus {ROUNDS - 1}")


# The page's htmx requests, kept where the test can read them.
RECORD_REQUESTS = """() => {
  window.requests = [];
  document.addEventListener("htmx:beforeRequest", (event) => requests.push(event.detail.xhr));
}"""
# An XMLHttpRequest is done once answered (4) or aborted (0), whether or not htmx said so.
NOTHING_UNDER_WAY = "() => window.requests.every(request => [0, 4].includes(request.readyState))"


def hold_edit_answers(page, url: str) -> list:
    """Hold every answer to an Edit at `url` on its way to the page, until the test sends it on.

    The server answers at once; what is held is its answer as it was then, with the text of that
    moment in it, as when the network is slow.
    """
    held: list = []
    page.route(url, lambda route: held.append((route, route.fetch())))
    return held


def let_through(held: list) -> None:
    for route, answer in held:
        route.fulfill(response=answer)
    held.clear()


def settle(page, held: list) -> None:
    """Send every held answer on until the page has no request under way, nor one queued.

    htmx sends a request queued behind another as that one ends, in the same task, so a page
    seen with nothing under way has nothing waiting either.
    """
    for _ in range(200):
        let_through(held)
        if page.evaluate(NOTHING_UNDER_WAY):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page's requests did not end")


def open_both_on(incident, priya, marcus, open_page):
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(a)
    wait_live(b)
    a.evaluate(RECORD_CHANGES)
    a.evaluate(RECORD_REQUESTS)
    return a, b


def wait_for_the_event_of(page, kind: str, version: int) -> None:
    page.wait_for_function(
        "([kind, version]) => window.seenChanges.some("
        "c => c.kind === kind && c.action === 'saved' && c.version >= version)",
        arg=[kind, version],
    )


def test_typing_in_an_edit_form_that_opened_behind_a_peer_save_is_never_lost(people, open_page):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    section = summary_section(incident)
    section.body = "Payments failed."
    section.save()
    a, b = open_both_on(incident, priya, marcus, open_page)

    # Priya's Edit, and any Edit her page asks for again, reach her browser only when let through.
    held = hold_edit_answers(a, f"**/section/{section.pk}/edit/")
    a.get_by_role("button", name="Edit Incident summary").click()
    while not held:
        a.wait_for_timeout(20)

    # Marcus saves the section while Priya's Edit is on its way.
    form_b = b.get_by_role("form", name="Incident summary")
    b.get_by_role("button", name="Edit Incident summary").click()
    form_b.get_by_role("textbox").fill("Marcus wrote this first.\n\nPayments failed.")
    expect(form_b).to_contain_text("Saved")
    wait_for_the_event_of(a, "section", Section.objects.get(pk=section.pk).version)

    # Her form opens on the text from before his save, and she types in it at once.
    let_through(held)
    form = a.get_by_role("form", name="Incident summary")
    box = form.get_by_role("textbox")
    expect(box).to_be_visible()
    opened = box.element_handle()
    box.press("Control+End")
    box.press_sequentially(" Priya typed this.")
    # Whatever her page asked for meanwhile arrives only now, after her typing.
    settle(a, held)
    assert opened.evaluate("box => box.isConnected"), "the form she typed in was replaced"

    both = "Marcus wrote this first.\n\nPayments failed. Priya typed this."
    expect(box).to_have_value(both)
    expect(form).to_contain_text("Saved")
    expect(form.get_by_role("alert")).to_have_count(0)
    form.get_by_role("button", name="Done").click()
    expect(form).to_have_count(0)
    assert Section.objects.get(pk=section.pk).body == both
    expect(a.get_by_role("region", name="Incident summary")).to_contain_text(both.split("\n")[-1])
    # Marcus's form, open all along, has her words merged in.
    expect(form_b.get_by_role("textbox")).to_have_value(both)


def test_an_entry_form_that_opened_behind_a_peer_save_keeps_the_typing_and_says_so(
    people, open_page, accessible, shot
):
    priya, marcus = people
    incident = factories.incident(owner=priya, level=1, title="Checkout down")
    entry = factories.timeline_entry(incident, minutes=5, text="Paged the database team")
    a, b = open_both_on(incident, priya, marcus, open_page)
    his, hers = "Paged the database team and the network team", "Paged the database team at 10:04"

    held = hold_edit_answers(a, f"**/entry/{entry.pk}/edit/")
    a.locator(f"#entry-{entry.pk}").focus()
    a.get_by_role("button", name="Edit timeline entry").click()
    while not held:
        a.wait_for_timeout(20)

    # Marcus saves the entry while Priya's Edit is on its way.
    b.locator(f"#entry-{entry.pk}").focus()
    b.get_by_role("button", name="Edit timeline entry").click()
    form_b = b.get_by_role("form", name="Timeline entry")
    form_b.get_by_label("What happened").fill(his)
    form_b.get_by_role("button", name="Save").click()
    expect(form_b).to_have_count(0)
    entry.refresh_from_db()
    wait_for_the_event_of(a, "entry", entry.version)

    # Her form opens on the entry as it was; she starts typing before anything else arrives.
    let_through(held)
    form = a.get_by_role("form", name="Timeline entry")
    field = form.get_by_label("What happened")
    expect(field).to_be_visible()
    opened = field.element_handle()
    field.fill(hers)
    settle(a, held)
    assert opened.evaluate("field => field.isConnected"), "the form she typed in was replaced"

    expect(field).to_have_value(hers)
    expect(form.get_by_role("status")).to_contain_text("Marcus Webb saved a newer version of this")
    # The form as a whole: an open entry form stands in the timeline's list in place of its item.
    accessible(a, within=f"#entry-{entry.pk}")
    shot(a, "live-race-entry-changed-meanwhile-laptop")

    # Her save meets his: nothing is overwritten, his words are shown beside hers.
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("Someone changed this while you were editing")
    expect(form.get_by_role("alert")).to_contain_text(his)
    expect(field).to_have_value(hers)
    entry.refresh_from_db()
    assert entry.text == his
