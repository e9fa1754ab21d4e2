"""Every main page works in Chromium with the Content-Security-Policy enforced.

Chromium reports each blocked script, style or handler both as a console message and as a
`securitypolicyviolation` event; both are collected on every page, and the last step proves
the collection would catch one.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from postmortems.share_links import share_link_create
from tests import factories
from tests.browser.conftest import LAPTOP, VIEWER_TIMEZONE

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


class PolicyWatch:
    def __init__(self, page: Page):
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"{self.page.url}: {message.text}")

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self' 'nonce-" in policy, f"{path} has no enforced policy: {policy!r}"
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        self.check()

    def check(self) -> None:
        self.page.wait_for_load_state("networkidle")
        self.problems += [
            f"{self.page.url}: {violation}"
            for violation in self.page.evaluate("window.__cspViolations || []")
        ]


def test_every_main_page_works_under_the_enforced_policy(browser, live_url, shot):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    incident = factories.publishable(factories.incident(owner=owner), owner)
    factories.action_item(incident, title="Page on pool saturation", owner=owner)
    _, token = share_link_create(
        postmortem=incident.postmortem, label="Support", user=owner, share_draft=True
    )
    premortem = factories.premortem(facilitator=owner, team_=factories.team("Payments"))

    context = browser.new_context(
        base_url=live_url,
        viewport={"width": LAPTOP[0], "height": LAPTOP[1]},
        timezone_id=VIEWER_TIMEZONE,
    )
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    watch = PolicyWatch(page)

    watch.visit("/login/")
    page.get_by_label("Username").fill("priya")
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    watch.check()

    for path in ["/", "/incidents/", "/incidents/new/", "/actions/review/", "/actions/mine/"]:
        watch.visit(path)
        expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # Searching the list is an htmx request triggered by typing.
    watch.visit("/incidents/")
    page.locator("#id_q").fill("Checkout")
    expect(page.get_by_role("link", name=incident.title)).to_be_visible()
    watch.check()

    # The document: open a section's editor with its button, save; then by clicking its text.
    watch.visit(f"/incidents/{incident.ref}/")
    page.get_by_role("button", name="Edit Incident summary").click()
    form = page.get_by_role("form", name="Incident summary")
    form.get_by_role("textbox", name="Incident summary").fill("Checkout failed for 47 minutes.")
    form.get_by_role("button", name="Save").click()
    summary = page.get_by_role("region", name="Incident summary")
    expect(summary.get_by_role("status")).to_have_text("Saved.")
    summary.get_by_text("Checkout failed for 47 minutes.").click()
    expect(page.get_by_role("form", name="Incident summary")).to_be_visible()
    page.get_by_role("form", name="Incident summary").get_by_role("textbox").press("Escape")
    expect(page.get_by_role("form", name="Incident summary")).to_have_count(0)
    # The publishing panel opens under the header and its Close button empties it.
    page.get_by_role("link", name="Review and publish").click()
    panel = page.get_by_role("region", name="Review and publish")
    expect(panel).to_be_visible()
    page.locator("#publish-panel").get_by_role("button", name="Close").click()
    expect(panel).to_have_count(0)
    watch.check()

    watch.visit(f"/incidents/{incident.ref}/history/")
    watch.visit(f"/incidents/{incident.ref}/publishing/")

    # A premortem: its countdown and its live board run under the policy too.
    for path in ["/premortems/", "/premortems/new/", f"/premortems/{premortem.pk}/history/"]:
        watch.visit(path)
    watch.visit(premortem.get_absolute_url())
    expect(page.locator("[data-countdown-clock]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    page.get_by_label("How could this fail?").fill("The new cluster is in another region")
    page.get_by_role("button", name="Add my reason").click()
    expect(page.get_by_text("The new cluster is in another region")).to_be_visible()
    watch.check()

    # The stakeholder page, read by someone without an account.
    reader = context.browser.new_context(base_url=live_url)
    reader.add_init_script(WATCH_VIOLATIONS)
    reader_page = reader.new_page()
    reader_watch = PolicyWatch(reader_page)
    reader_watch.visit(f"/s/{token}/")
    expect(reader_page.get_by_text("DRAFT")).to_be_visible()
    reader_watch.check()

    assert not (watch.problems + reader_watch.problems), "\n".join(
        watch.problems + reader_watch.problems
    )

    # The control: an inline script without the nonce is blocked, and it is noticed.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inlineRan = true";
            document.head.appendChild(script);
        }"""
    )
    watch.check()
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("script-src" in problem for problem in watch.problems), watch.problems
    reader.close()
    context.close()
