"""Editing the document page's blocks in place, as the HTMX requests do it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from actions.models import ActionItem
from incidents.models import TimelineEntry
from postmortems.models import Cause, Why
from tests import factories

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def summary_of(incident):
    return incident.postmortem.sections.get(key="summary")


def url(incident, *parts):
    return "/".join([f"/incidents/{incident.ref}", *map(str, parts)]) + "/"


def test_edit_form_carries_the_version(owner_client, incident):
    summary = summary_of(incident)
    response = owner_client.get(url(incident, "section", summary.pk, "edit"), headers=HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'name="base_version" value="1"' in content
    assert f'<label for="section-{summary.pk}-body">Incident summary</label>' in content
    assert "<html" not in content


def test_an_edit_form_stands_in_what_holds_its_block(owner_client, incident):
    """A list keeps only items and a table only rows: a form replacing one of them is one."""
    why = factories.cause(incident, whys=1).whys.get()
    item = factories.action_item(incident)
    summary = summary_of(incident)

    def opening(*parts):
        return owner_client.get(url(incident, *parts), headers=HTMX).content.decode().lstrip()

    assert opening("why", why.pk, "edit").startswith(
        f'<li class="block form-item" id="why-{why.pk}">'
    )
    assert opening("action", item.pk, "edit").startswith(
        f'<tr class="block form-row" id="action-{item.pk}"><td colspan="5">'
    )
    assert opening("section", summary.pk, "edit").startswith(
        f'<form class="block block-form kind-section" id="section-{summary.pk}"'
    )
    # A new block's form opens beside its list, not in it.
    assert opening("entry", "new").startswith(
        '<form class="block block-form kind-entry" id="entry-new"'
    )


def test_saving_a_section_renders_markdown_and_records_history(owner_client, owner, incident):
    summary = summary_of(incident)
    response = owner_client.post(
        url(incident, "section", summary.pk),
        {"body": "Checkout **failed** for 47 minutes.", "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "<strong>failed</strong>" in response.content.decode()
    assert response["HX-Trigger"]
    summary.refresh_from_db()
    assert summary.version == 2
    latest = summary.history.latest()
    assert (latest.body, latest.version, latest.history_user) == (summary.body, 2, owner)


def test_a_stale_save_is_refused_and_nothing_is_overwritten(owner_client, teammate, incident):
    summary = summary_of(incident)
    owner_client.post(
        url(incident, "section", summary.pk),
        {"body": "First words", "base_version": 1},
        headers=HTMX,
    )

    response = owner_client.post(
        url(incident, "section", summary.pk),
        {"body": "Late words", "base_version": 1},
        headers=HTMX,
    )

    content = response.content.decode()
    assert response.status_code == 409
    assert "Someone changed this while you were editing" in content
    assert "First words" in content  # theirs, shown
    assert "Late words" in content  # mine, kept in the form
    assert 'name="base_version" value="2"' in content
    summary.refresh_from_db()
    assert (summary.body, summary.version) == ("First words", 2)


def test_validation_errors_come_back_in_place(owner_client, incident):
    summary = summary_of(incident)
    response = owner_client.post(
        url(incident, "section", summary.pk),
        {"body": "x" * 100_001, "base_version": 1},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "at most 100000 characters" in response.content.decode()
    assert summary_of(incident).version == 1


def test_a_save_without_a_version_is_refused(owner_client, incident):
    summary = summary_of(incident)
    response = owner_client.post(url(incident, "section", summary.pk), {"body": "x"}, headers=HTMX)
    assert response.status_code == 422
    assert summary_of(incident).body == ""


def test_markdown_cannot_carry_script(owner_client, incident):
    summary = summary_of(incident)
    owner_client.post(
        url(incident, "section", summary.pk),
        {
            "body": "<script>alert(1)</script> [click](javascript:alert(2)) <img src=x onerror=y>",
            "base_version": 1,
        },
        headers=HTMX,
    )
    page = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "<script>alert" not in page
    assert "javascript:alert" not in page.replace("[click](javascript:alert(2))", "")
    assert "<img" not in page


def test_adding_a_timeline_entry_keeps_the_timeline_in_time_order(owner_client, owner, incident):
    response = owner_client.post(
        url(incident, "entry", "new"),
        {
            "occurred_at": incident.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "kind": "failure",
            "text": "Deploy 41 starts",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#timeline"
    entries = list(incident.timeline.all())
    assert entries[0].text == "Deploy 41 starts"
    assert entries[0].added_by == owner
    assert entries[0].history.get().history_type == "+"


def test_timeline_times_keep_seconds_in_the_viewers_timezone(owner_client, incident):
    owner_client.cookies["tz"] = "Asia/Kolkata"
    owner_client.post(
        url(incident, "entry", "new"),
        {"occurred_at": "2026-11-20T15:30:45", "kind": "note", "text": "Local time"},
        headers=HTMX,
    )
    entry = incident.timeline.get(text="Local time")
    assert entry.occurred_at.isoformat() == "2026-11-20T10:00:45+00:00"
    page = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "2026-11-20 15:30:45" in page
    assert "Times in Asia/Kolkata" in page


def test_a_bad_timeline_entry_is_answered_in_the_form(owner_client, incident):
    response = owner_client.post(
        url(incident, "entry", "new"),
        {"occurred_at": "not a time", "kind": "panic", "text": ""},
        headers=HTMX,
    )
    content = response.content.decode()
    assert response.status_code == 422
    assert "Enter a date and time as YYYY-MM-DD HH:MM" in content
    assert "Select a valid choice." in content
    assert "This field is required." in content
    assert incident.timeline.count() == 1


def test_deleting_a_timeline_entry_keeps_it_in_history(owner_client, incident):
    entry = factories.timeline_entry(incident, text="Wrong entry")
    response = owner_client.post(
        url(incident, "entry", entry.pk, "delete"), {"base_version": entry.version}, headers=HTMX
    )
    assert response.status_code == 200
    assert not TimelineEntry.objects.filter(pk=entry.pk).exists()
    assert TimelineEntry.history.filter(id=entry.pk, history_type="-").exists()


def test_deleting_a_block_someone_just_changed_is_refused(owner_client, incident):
    entry = factories.timeline_entry(incident, text="Edited meanwhile")
    response = owner_client.post(
        url(incident, "entry", entry.pk, "delete"),
        {"base_version": entry.version - 1 or 99},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert TimelineEntry.objects.filter(pk=entry.pk).exists()


def test_whys_are_added_and_reordered(owner_client, incident):
    cause = factories.cause(incident, whys=2)
    response = owner_client.post(
        url(incident, "why", "new"),
        {
            "cause": cause.pk,
            "question": "Why did the pool run dry?",
            "answer": "Connections leaked",
            "evidence": "Graph",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#cause-{cause.pk}"
    assert [w.question for w in cause.whys.all()] == [
        "Why 1?",
        "Why 2?",
        "Why did the pool run dry?",
    ]

    last = cause.whys.last()
    owner_client.post(url(incident, "why", last.pk, "move"), {"direction": "up"}, headers=HTMX)
    assert [w.question for w in cause.whys.all()] == [
        "Why 1?",
        "Why did the pool run dry?",
        "Why 2?",
    ]
    first = cause.whys.first()
    response = owner_client.post(
        url(incident, "why", first.pk, "move"), {"direction": "up"}, headers=HTMX
    )
    assert response.status_code == 200  # already first: nothing moves
    assert cause.whys.first() == first


def test_a_why_cannot_be_added_to_another_incidents_cause(owner_client, owner, incident):
    elsewhere = factories.cause(factories.incident(owner=owner))
    response = owner_client.post(
        url(incident, "why", "new"), {"cause": elsewhere.pk, "question": "Sneaky?"}, headers=HTMX
    )
    assert response.status_code == 404
    assert not Why.objects.filter(question="Sneaky?").exists()


def test_blocks_of_another_incident_are_not_reachable(owner_client, owner, incident):
    other = factories.incident(owner=owner)
    summary = summary_of(other)
    response = owner_client.post(
        url(incident, "section", summary.pk), {"body": "Hijack", "base_version": 1}, headers=HTMX
    )
    assert response.status_code == 404
    assert summary_of(other).body == ""


def test_action_items_are_filed_with_an_owner_and_a_cause(owner_client, owner, incident):
    cause = factories.cause(incident)
    response = owner_client.post(
        url(incident, "action", "new"),
        {
            "title": "Alert on pool usage",
            "owner": owner.pk,
            "due_date": "2026-12-01",
            "priority": 2,
            "kind": "detection",
            "status": "open",
            "cause": cause.pk,
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    item = ActionItem.objects.get()
    assert (item.owner, item.cause, item.created_by) == (owner, cause, owner)


def test_an_action_item_cannot_address_another_incidents_cause(owner_client, owner, incident):
    elsewhere = factories.cause(factories.incident(owner=owner))
    response = owner_client.post(
        url(incident, "action", "new"),
        {
            "title": "Nope",
            "kind": "corrective",
            "status": "open",
            "priority": 2,
            "cause": elsewhere.pk,
        },
        headers=HTMX,
    )
    assert response.status_code == 422
    assert ActionItem.objects.count() == 0


def test_incident_header_edit_validates_times(owner_client, incident):
    response = owner_client.get(url(incident, "incident", incident.pk, "edit"), headers=HTMX)
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: v for k, v in data.items() if v not in (None, False)}
    data["resolved_at"] = (incident.started_at.replace(year=2000)).strftime("%Y-%m-%dT%H:%M:%S")
    data["services"] = []
    response = owner_client.post(url(incident, "incident", incident.pk), data, headers=HTMX)
    assert response.status_code == 422
    assert "cannot be before the incident started" in response.content.decode()


def test_resolving_in_the_header_sets_the_postmortem_due_date(owner_client, owner, incident):
    started = incident.started_at.strftime("%Y-%m-%dT%H:%M:%S")
    resolved = incident.started_at.replace(microsecond=0).isoformat()[:19]
    data = {
        "title": incident.title,
        "severity": incident.severity_id,
        "status": "resolved",
        "started_at": started,
        "resolved_at": resolved,
        "owner": owner.pk,
        "responders": [owner.pk],
        "base_version": incident.version,
    }
    response = owner_client.post(url(incident, "incident", incident.pk), data, headers=HTMX)
    assert response.status_code == 200, response.content.decode()
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert incident.postmortem.due_at is not None


def test_unknown_kinds_and_unmovable_blocks_are_404(owner_client, incident):
    summary = summary_of(incident)
    assert owner_client.get(url(incident, "spaceship", 1)).status_code == 404
    assert (
        owner_client.post(
            url(incident, "section", summary.pk, "delete"), {"base_version": 1}
        ).status_code
        == 404
    )
    assert (
        owner_client.post(
            url(incident, "section", summary.pk, "move"), {"direction": "up"}
        ).status_code
        == 404
    )
    assert owner_client.get(url(incident, "section", "new")).status_code == 404


def test_editing_needs_a_login(incident):
    summary = summary_of(incident)
    response = Client().post(
        url(incident, "section", summary.pk), {"body": "anonymous", "base_version": 1}
    )
    assert response.status_code == 302
    assert summary_of(incident).body == ""


def test_document_page_query_count_does_not_grow(owner_client, owner, incident):
    def count_queries():
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(incident.get_absolute_url())
        assert response.status_code == 200
        return len(queries)

    factories.timeline_entry(incident)
    cause = factories.cause(incident, whys=1)
    factories.action_item(incident, owner=owner, cause=cause)
    small = count_queries()

    for minute in range(40):
        factories.timeline_entry(incident, minutes=minute, user=owner)
    for _ in range(3):
        more = factories.cause(incident, whys=5)
        for _ in range(10):
            factories.action_item(incident, owner=factories.user(), cause=more)
    assert Cause.objects.count() == 4
    assert count_queries() == small


def test_the_why_form_says_which_box_wants_the_question_and_which_the_answer(
    owner_client, incident
):
    why = factories.cause(incident, whys=1).whys.get()
    html = owner_client.get(f"/incidents/{incident.ref}/why/{why.pk}/edit/").content.decode()
    assert ">Question: why did it happen?</label>" in html
    assert ">Answer: because…</label>" in html
