"""What a person sees of access in the browser: the private incident's form, the team page
and the audit log."""

from __future__ import annotations

from playwright.sync_api import expect

from incidents.audit import Action, audit
from tests import factories
from tests.browser.conftest import PHONE


def test_the_private_form_says_who_will_see_it_and_a_responder_cannot_change_it(browser_page, shot):
    owner = factories.user("priya", first_name="Priya", last_name="Raman")
    responder = factories.user("marcus", first_name="Marcus", last_name="Webb")
    team = factories.team("Security")
    team.members.add(owner)
    incident = factories.incident(
        owner=owner, team=team, private=True, title="Signing key found in a public repository"
    )
    incident.responders.add(responder)

    page = browser_page(owner)
    page.goto(incident.get_absolute_url())
    page.get_by_role("button", name="Edit incident details").click()
    form = page.get_by_role("form", name="Incident details")
    expect(form.get_by_label("Private")).to_be_checked()
    expect(form).to_contain_text("the members and lead of Security")
    expect(form.get_by_label("Also visible to")).to_be_enabled()
    shot(page, "private-incident-form")

    reader = browser_page(responder)
    reader.goto(incident.get_absolute_url())
    expect(reader.get_by_role("link", name="Review and publish")).to_have_count(0)
    reader.get_by_role("button", name="Edit incident details").click()
    form = reader.get_by_role("form", name="Incident details")
    expect(form.get_by_label("Private")).to_be_disabled()
    expect(form.get_by_label("Incident owner")).to_be_disabled()
    expect(form.get_by_label("Title")).to_be_enabled()
    expect(form).to_contain_text("Only the incident owner, the lead of its team and admins")
    shot(reader, "private-incident-form-responder")


def test_the_audit_log_lists_what_changed_and_the_team_page_lets_a_lead_manage(browser_page, shot):
    admin = factories.user("root", first_name="Ada", last_name="Admin", is_superuser=True)
    lead = factories.user("lena", first_name="Lena", last_name="Hoffmann")
    member = factories.user("eve", first_name="Eve", last_name="Outside")
    team = factories.team("Security", lead=lead)
    incident = factories.incident(owner=lead, team=team, private=True, title="Key leak")
    audit(lead, Action.PRIVATE_CHANGED, incident, "Now private.")
    audit(lead, Action.SHARE_LINK_MADE, incident, "“Board”: the published version, never expires.")

    page = browser_page(lead)
    page.goto(f"/teams/{team.slug}/")
    page.get_by_label("Members").select_option(label="Eve Outside")
    page.get_by_label("Remind every (days)").fill("3")
    page.get_by_role("button", name="Save the team").click()
    expect(page.get_by_role("status")).to_contain_text("Security is saved.")
    shot(page, "team-page-lead")

    admin_page = browser_page(admin)
    admin_page.goto(incident.get_absolute_url())
    admin_page.get_by_role("link", name="Audit log").click()
    table = admin_page.get_by_role("table")
    expect(table).to_contain_text("Team membership changed")
    expect(table).to_contain_text("Added eve.")
    expect(table).to_contain_text("Admin viewed a private incident")
    expect(table).to_contain_text("Share link made")
    shot(admin_page, "audit-log")

    phone = browser_page(admin, viewport=PHONE)
    phone.goto("/audit/")
    expect(phone.get_by_role("heading", name="Audit log")).to_be_visible()
    shot(phone, "audit-log-phone")
    assert member.teams.filter(pk=team.pk).exists()
