"""Clicks that race live changes: in two real browsers, an Edit never opens on old text, and
no form is lost to a change that lands while it is on its way."""

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
    a, b = open_page(priya), open_page(marcus)
    a.goto(incident.get_absolute_url())
    b.goto(incident.get_absolute_url())
    wait_live(a)
    wait_live(b)
    a.evaluate(RECORD_CHANGES)

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
