"""Who may see and change what, beyond the status codes of the authorization table: what a
person finds in lists, what a form lets them change, what the audit log records."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from incidents.models import AuditEntry, Incident, Organisation
from incidents.policy import (
    READ_ONLY_GROUP,
    can_edit,
    can_manage,
    can_view,
    people_who_can_see,
    visible_incidents,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(owner, teammate):
    made = factories.team("Security")
    made.members.add(teammate)
    return made


@pytest.fixture
def secret(owner, team):
    return factories.incident(owner=owner, team=team, private=True, title="Leaked signing key")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def header_form(incident: Incident, **changes) -> dict:
    incident.refresh_from_db()
    data = {
        "title": incident.title,
        "severity": incident.severity_id,
        "status": incident.status,
        "started_at": incident.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
        "owner": incident.owner_id or "",
        "responders": [p.pk for p in incident.responders.all()],
        "team": incident.team_id or "",
        "private": "on" if incident.private else "",
        "viewers": [p.pk for p in incident.viewers.all()],
        "base_version": incident.version,
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value not in ("", None)}


def test_a_private_incident_is_in_no_list_of_an_outsider(secret, outsider, teammate):
    outsider_client = signed_in(outsider)
    for url in ("/", "/incidents/", "/incidents/?q=signing", "/actions/review/"):
        assert "Leaked signing key" not in outsider_client.get(url).text, url
    assert "Leaked signing key" in signed_in(teammate).get("/incidents/?q=signing").text


def test_an_item_of_a_private_incident_is_hidden_from_its_outsider_owner(secret, outsider):
    item = factories.action_item(secret, owner=outsider, title="Rotate the key")
    client = signed_in(outsider)
    assert "Rotate the key" not in client.get(reverse("my-actions")).text
    assert client.get(reverse("action-item", args=[item.pk])).status_code == 404


def test_a_responder_cannot_grant_themselves_the_right_to_publish(secret, owner, outsider):
    """The probe: a responder posted the header with themselves as owner, on another team,
    with the private flag off. Those fields are disabled for them, and what is posted for a
    disabled field is ignored."""
    secret.responders.add(outsider)
    client = signed_in(outsider)
    url = reverse("block", args=[secret.ref, "incident", secret.pk])
    form = client.get(reverse("block-edit", args=[secret.ref, "incident", secret.pk])).text
    assert 'name="owner" disabled' in form or "disabled" in form.split('name="owner"')[1][:80]
    assert "Only the incident owner, the lead of its team and admins" in form

    posted = header_form(secret, owner=outsider.pk, team="", private="", title="Renamed")
    posted["responders"] = [outsider.pk]
    response = client.post(url, posted)

    assert response.status_code == 200  # the rest of the form is saved
    secret.refresh_from_db()
    assert secret.title == "Renamed"
    assert (secret.owner, secret.private, secret.team_id) == (owner, True, secret.team_id)
    assert set(secret.responders.all()) == {owner, outsider}
    assert not can_manage(outsider, secret)
    assert client.get(reverse("publishing", args=[secret.ref])).status_code == 403


def test_the_owner_changes_who_sees_it_and_the_audit_log_says_so(secret, owner, outsider):
    client = signed_in(owner)
    url = reverse("block", args=[secret.ref, "incident", secret.pk])
    assert client.post(url, header_form(secret, viewers=[outsider.pk])).status_code == 200
    assert can_view(outsider, secret) and not can_edit(outsider, secret)
    assert client.post(url, header_form(secret, private="")).status_code == 200

    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "detail"))
    assert entries == [
        (AuditEntry.Action.ACCESS_CHANGED, "Viewers: added eve."),
        (AuditEntry.Action.PRIVATE_CHANGED, "Now not private."),
    ]


def test_the_private_field_says_who_will_see_it(secret, owner):
    form = signed_in(owner).get(reverse("block-edit", args=[secret.ref, "incident", secret.pk]))
    assert "enforced later" not in form.text
    assert "the members and lead of Security" in form.text
    assert "Also visible to" in form.text


def test_an_admin_reading_a_private_incident_is_audited_once(secret):
    admin = factories.user("root", is_superuser=True, is_staff=True)
    client = signed_in(admin)
    for _ in range(3):
        assert client.get(secret.get_absolute_url()).status_code == 200
        client.get(reverse("document-changes", args=[secret.ref]))
    (entry,) = AuditEntry.objects.filter(action=AuditEntry.Action.ADMIN_VIEWED_PRIVATE)
    assert entry.actor == admin and secret.ref in entry.target


def test_the_team_owning_it_reads_and_a_read_only_account_never_edits(secret, teammate):
    assert can_edit(teammate, secret)
    reader = factories.user("exec")
    reader.groups.add(Group.objects.get_or_create(name=READ_ONLY_GROUP)[0])
    secret.viewers.add(reader)
    normal = factories.incident(owner=teammate)
    assert can_view(reader, secret) and can_view(reader, normal)
    assert not can_edit(reader, normal)
    response = signed_in(reader).post(reverse("block-new", args=[normal.ref, "entry"]), {})
    assert response.status_code == 403
    assert "You can read this postmortem but not change it" in response.text


def test_with_the_organisation_setting_off_members_only_read(owner, teammate, outsider, team):
    incident = factories.incident(owner=owner, team=team)
    assert can_edit(outsider, incident)
    settings_row = Organisation.current()
    settings_row.members_edit_any_postmortem = False
    settings_row.save()
    assert not can_edit(outsider, incident)
    assert can_edit(owner, incident) and can_edit(teammate, incident)  # teammate: on the team
    url = reverse("block-new", args=[incident.ref, "entry"])
    assert signed_in(outsider).post(url, {}).status_code == 403


def test_visible_incidents_matches_can_view_for_everyone(secret, owner, teammate, outsider):
    normal = factories.incident(owner=outsider)
    lead = factories.user("lead")
    secret.team.lead = lead
    secret.team.save()
    for person in (owner, teammate, outsider, lead):
        listed = set(visible_incidents(person))
        assert listed == {i for i in (secret, normal) if can_view(person, i)}, person
    assert set(people_who_can_see(secret)) == {owner, teammate, lead}


def test_the_team_lead_manages_members_and_each_change_is_audited(secret, teammate, outsider):
    lead = factories.user("lena")
    secret.team.lead = lead
    secret.team.save()
    page = reverse("team", args=[secret.team.slug])
    data = {"members": [outsider.pk], "nag_every_days": 3, "nag_escalate_after": 2}
    assert signed_in(teammate).post(page, data).status_code == 403

    response = signed_in(lead).post(page, {**data, "slack_webhook_url": ""})

    assert response.status_code == 302
    assert can_view(outsider, secret) and not can_view(teammate, secret)
    details = set(AuditEntry.objects.values_list("action", "detail"))
    assert (AuditEntry.Action.MEMBERSHIP_CHANGED, "Added eve; removed marcus.") in details
    assert any(action == AuditEntry.Action.TEAM_SETTINGS_CHANGED for action, _ in details)


def test_the_audit_log_page_is_for_admins(secret, owner):
    admin = factories.user("root", is_superuser=True, is_staff=True)
    signed_in(admin).get(secret.get_absolute_url())
    assert signed_in(owner).get(reverse("audit-log")).status_code == 403
    page = signed_in(admin).get(reverse("audit-log"), {"action": "admin-view"})
    assert page.status_code == 200
    assert "Admin viewed a private incident" in page.text and secret.ref in page.text


def test_the_admin_site_hides_private_incidents_from_staff_who_are_not_on_them(secret):
    staff = factories.user("helpdesk", is_staff=True)
    staff.user_permissions.add(*_permissions("view_incident", "view_timelineentry"))
    client = signed_in(staff)
    listing = client.get("/admin/incidents/incident/")
    assert listing.status_code == 200 and "Leaked signing key" not in listing.text
    assert client.get(f"/admin/incidents/incident/{secret.pk}/change/").status_code == 302

    admin = factories.user("root", is_superuser=True, is_staff=True)
    assert signed_in(admin).get(f"/admin/incidents/incident/{secret.pk}/change/").status_code == 200
    entry = AuditEntry.objects.get(action=AuditEntry.Action.ADMIN_VIEWED_PRIVATE)
    assert entry.detail == "In the admin site."


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename__in=codenames)
