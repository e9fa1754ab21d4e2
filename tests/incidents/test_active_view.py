"""The active incident view: quick capture, milestones, roles, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import policy
from incidents.models import Incident, TimelineEntry
from incidents.response import kind_from_text, milestone_mark, role_assign
from tests import factories

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 13, 4, 5, 678000, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def open_incident(owner):
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        return factories.incident(
            owner=owner, level=2, started_at=timezone.now().replace(microsecond=0)
        )


def url(name: str, incident: Incident) -> str:
    return reverse(name, args=[incident.ref])


def capture(client, incident, text, **fields):
    data = {"text": text, "kind": "", "occurred_at": "", **fields}
    with time_machine.travel(NOW, tick=False):
        return client.post(url("incident-capture", incident), data, HTTP_HX_REQUEST="true")


def test_quick_capture_stamps_the_servers_now_in_the_viewers_time_zone(owner_client, open_incident):
    owner_client.cookies["tz"] = "Europe/Berlin"
    response = capture(owner_client, open_incident, "Checkout error rate at 40%")
    assert response.status_code == 200
    entry = open_incident.timeline.get(text="Checkout error rate at 40%")
    assert entry.occurred_at == NOW.replace(microsecond=0)
    assert entry.kind == TimelineEntry.Kind.NOTE
    # 13:04:05 UTC is 14:04:05 in Berlin, shown to the second with the zone named.
    assert "2026-12-02 14:04:05</time> Europe/Berlin" in response.content.decode()
    assert "Edit time or text" in response.content.decode()


def test_a_typed_time_is_read_in_the_viewers_time_zone(owner_client, open_incident):
    owner_client.cookies["tz"] = "Europe/Berlin"
    capture(owner_client, open_incident, "Paged the database team", occurred_at="13:50:10")
    entry = open_incident.timeline.get(text="Paged the database team")
    assert entry.occurred_at == datetime(2026, 12, 2, 13, 50, 10, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13:50", datetime(2026, 12, 2, 13, 50, tzinfo=BERLIN)),
        ("9:05:07", datetime(2026, 12, 2, 9, 5, 7, tzinfo=BERLIN)),
        ("2026-12-02 13:50:10", datetime(2026, 12, 2, 13, 50, 10, tzinfo=BERLIN)),
        ("2026-12-02T13:50", datetime(2026, 12, 2, 13, 50, tzinfo=BERLIN)),
    ],
)
def test_a_time_is_typed_in_iso_order_or_alone_for_today(
    owner_client, open_incident, typed, expected
):
    owner_client.cookies["tz"] = "Europe/Berlin"
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        open_incident.started_at = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
        open_incident.save()
    response = capture(owner_client, open_incident, "Paged", occurred_at=typed)
    assert response.status_code == 200, response.content.decode()
    assert open_incident.timeline.get(text="Paged").occurred_at == expected


def test_the_capture_time_field_is_the_iso_one_with_the_zone_named(owner_client, open_incident):
    owner_client.cookies["tz"] = "Asia/Kolkata"
    with time_machine.travel(NOW, tick=False):
        page = owner_client.get(url("incident-active", open_incident)).content.decode()
    for field in ("capture-occurred_at", "milestone-at"):
        assert (
            f'id="{field}_format">YYYY-MM-DD HH:MM:SS, 24-hour, Asia/Kolkata · empty means now<'
            in page
        )
    assert 'id="update-next_update_at_format">YYYY-MM-DD HH:MM, 24-hour, Asia/Kolkata<' in page
    # The next update is suggested one SEV2 interval (an hour) from now, in the viewer's zone.
    assert 'value="2026-12-02 19:34"' in page


@pytest.mark.parametrize(
    ("typed", "kind", "text"),
    [
        ("mitigated: rolled back 4.2.1", "mitigation", "rolled back 4.2.1"),
        ("Detected: alert fired", "detection", "alert fired"),
        ("escalated:paged the DBA", "escalation", "paged the DBA"),
        ("comms: status page updated", "communication", "status page updated"),
        ("resolved: error rate normal", "resolution", "error rate normal"),
        ("Restarted pods: all of them", None, "Restarted pods: all of them"),
        ("mitigated:", None, "mitigated:"),
        ("nothing special", None, "nothing special"),
    ],
)
def test_the_kind_is_guessed_from_a_leading_word(typed, kind, text):
    assert kind_from_text(typed) == (kind, text)


def test_a_chosen_kind_wins_over_the_leading_word(owner_client, open_incident):
    capture(owner_client, open_incident, "mitigated: not really", kind="note")
    entry = open_incident.timeline.get(text="mitigated: not really")
    assert entry.kind == "note"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "This field is required."),
        ({"text": "   "}, "This field is required."),
        ({"text": "a\x00b"}, "Null characters are not allowed"),
        ({"text": "x" * 5001}, "at most 5000 characters"),
        ({"occurred_at": "0001-01-01 10:00"}, "Pick a time between the years"),
        ({"occurred_at": "9999-12-31 23:59:59"}, "Pick a time between the years"),
        ({"occurred_at": "25:99"}, "Enter a time as HH:MM:SS (today)"),
        ({"occurred_at": "2026-02-30 10:00"}, "Enter a time as HH:MM:SS (today)"),
        ({"occurred_at": "yesterday"}, "Enter a time as HH:MM:SS (today)"),
        ({"occurred_at": "12:00\r\n13:00"}, "Enter a time as HH:MM:SS (today)"),
        ({"occurred_at": "1" * 10_000}, "Enter a time as HH:MM:SS (today)"),
        ({"occurred_at": "2026-12-01 10:00"}, "before the incident started"),
        ({"occurred_at": "2026-12-03 10:00"}, "in the future"),
        ({"kind": "disaster"}, "Select a valid choice"),
    ],
)
def test_bad_capture_input_is_answered_in_words(owner_client, open_incident, fields, message):
    before = open_incident.timeline.count()
    response = capture(owner_client, open_incident, fields.pop("text", "ok"), **fields)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert open_incident.timeline.count() == before


def test_line_breaks_in_a_capture_become_spaces(owner_client, open_incident):
    capture(owner_client, open_incident, "first\r\nsecond")
    assert open_incident.timeline.filter(text="first  second").exists()


def test_milestone_buttons_set_the_time_the_entry_and_the_status_together(
    owner_client, open_incident, owner
):
    with time_machine.travel(NOW, tick=False):
        response = owner_client.post(
            url("incident-milestone", open_incident),
            {"milestone": "mitigated", "at": ""},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 200
    open_incident.refresh_from_db()
    assert open_incident.mitigated_at == NOW.replace(microsecond=0)
    assert open_incident.status == Incident.Status.MONITORING
    entry = open_incident.timeline.get(kind=TimelineEntry.Kind.MITIGATION)
    assert entry.occurred_at == open_incident.mitigated_at
    assert open_incident.time_to_mitigate == timedelta(minutes=30)
    latest = open_incident.history.first()
    assert (latest.status, latest.history_user) == ("monitoring", owner)


def test_resolving_by_button_hands_over_to_the_postmortem(owner_client, open_incident):
    with time_machine.travel(NOW, tick=False):
        response = owner_client.post(
            url("incident-milestone", open_incident),
            {"milestone": "resolved", "at": "2026-12-02 13:00:00"},
            HTTP_HX_REQUEST="true",
        )
    assert response["HX-Redirect"] == open_incident.get_absolute_url()
    open_incident.refresh_from_db()
    assert open_incident.status == Incident.Status.RESOLVED
    assert open_incident.resolved_at == datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    assert open_incident.postmortem.due_at is not None
    assert open_incident.timeline.filter(
        kind="resolution", occurred_at=NOW.replace(hour=13, minute=0, second=0, microsecond=0)
    ).exists()
    # The active view of a resolved incident is its postmortem.
    assert owner_client.get(url("incident-active", open_incident)).status_code == 302


def test_a_milestone_before_the_start_changes_nothing(owner_client, open_incident):
    with time_machine.travel(NOW, tick=False):
        response = owner_client.post(
            url("incident-milestone", open_incident),
            {"milestone": "detected", "at": "2026-12-01 09:00"},
            HTTP_HX_REQUEST="true",
        )
    assert response.status_code == 422
    assert "before the incident started" in response.content.decode()
    open_incident.refresh_from_db()
    assert open_incident.detected_at is None
    assert not open_incident.timeline.filter(kind="detection", text="Detected").exists()


def test_a_failed_milestone_rolls_back_its_entry(open_incident, owner):
    before = open_incident.timeline.count()
    with pytest.raises(Exception):  # noqa: B017, PT011 - the check constraint, any error
        milestone_mark(
            incident=open_incident,
            milestone="mitigated",
            at=open_incident.started_at - timedelta(seconds=1),
            user=owner,
        )
    assert open_incident.timeline.count() == before


def test_role_hand_over_is_in_the_history_and_the_timeline(
    owner_client, open_incident, owner, teammate
):
    response = owner_client.post(
        url("incident-role", open_incident),
        {"role": "owner", "person": teammate.pk},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    open_incident.refresh_from_db()
    assert open_incident.commander == teammate
    assert teammate in open_incident.responders.all()
    # Version by version: the hand-over is one new version, made by the one handing over.
    owners = dict(open_incident.history.values_list("version", "owner_id"))
    assert owners == {1: owner.pk, 2: teammate.pk}
    assert open_incident.history.filter(version=2).first().history_user == owner
    entry = open_incident.timeline.get(kind=TimelineEntry.Kind.RESPONSE)
    assert entry.text == "Priya Raman handed incident commander to Marcus Webb."
    assert entry.history.first().history_user == owner


def test_naming_a_communications_lead_and_then_nobody(open_incident, owner, teammate):
    role_assign(incident=open_incident, role="communications_lead", person=teammate, user=owner)
    role_assign(incident=open_incident, role="communications_lead", person=None, user=owner)
    texts = list(open_incident.timeline.filter(kind="response").values_list("text", flat=True))
    assert texts == [
        "Marcus Webb is now communications lead.",
        "Marcus Webb is no longer communications lead.",
    ]


def test_an_incident_always_has_a_commander(owner_client, open_incident, owner):
    response = owner_client.post(
        url("incident-role", open_incident), {"role": "owner", "person": ""}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    assert "always has a commander" in response.content.decode()
    open_incident.refresh_from_db()
    assert open_incident.owner == owner


@pytest.mark.parametrize(
    "data", [{"role": "king", "person": "1"}, {"role": "scribe", "person": "99999999"}]
)
def test_bad_role_input_is_answered_in_words(owner_client, open_incident, data):
    response = owner_client.post(url("incident-role", open_incident), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "Pick a role and a person" in response.content.decode()


def test_the_page_shows_the_clock_status_roles_and_capture(owner_client, open_incident, teammate):
    role_assign(incident=open_incident, role="scribe", person=teammate, user=open_incident.owner)
    response = owner_client.get(url("incident-active", open_incident))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-since="{open_incident.started_at.isoformat()}"' in page
    assert "Something is wrong and we are finding out what." in page
    assert "incident commander" in page and "scribe" in page
    assert 'id="capture-text"' in page
    assert "Open the full postmortem outline" in page
    assert "Mark detected" in page


def test_the_outline_links_back_to_the_active_view_while_it_is_open(owner_client, open_incident):
    page = owner_client.get(open_incident.get_absolute_url()).content.decode()
    assert url("incident-active", open_incident) in page


def test_the_page_reads_in_a_fixed_number_of_queries(
    owner_client, open_incident, django_assert_max_num_queries
):
    for minute in range(30):
        factories.timeline_entry(open_incident, minutes=minute)
    with django_assert_max_num_queries(14):
        owner_client.get(url("incident-active", open_incident))


ACTIONS = [
    ("incident-capture", {"text": "hello"}),
    ("incident-milestone", {"milestone": "detected"}),
    ("incident-status-update", {"known": "a", "doing": "b", "audience": "internal"}),
    ("incident-quiet-snooze", {"minutes": "60", "reason": "waiting"}),
    ("incident-join", {}),
]


@pytest.mark.parametrize(("name", "data"), ACTIONS)
def test_a_reader_who_may_not_edit_is_refused(
    client, outsider, open_incident, monkeypatch, name, data
):
    monkeypatch.setattr(policy, "can_edit", lambda user, incident: False)
    client.force_login(outsider)
    before = (open_incident.timeline.count(), open_incident.status_updates.count())
    response = client.post(url(name, open_incident), data)
    assert response.status_code == 403
    assert (open_incident.timeline.count(), open_incident.status_updates.count()) == before


def test_roles_need_the_manage_right(client, teammate, outsider, open_incident, monkeypatch):
    monkeypatch.setattr(policy, "can_manage", lambda user, incident: False)
    client.force_login(teammate)
    response = client.post(
        url("incident-role", open_incident), {"role": "scribe", "person": teammate.pk}
    )
    assert response.status_code == 403
    open_incident.refresh_from_db()
    assert open_incident.scribe is None


@pytest.mark.parametrize("name", ["incident-active", "incident-active-state"])
def test_an_incident_you_may_not_see_answers_404(
    client, outsider, open_incident, monkeypatch, name
):
    monkeypatch.setattr(policy, "can_view", lambda user, incident: False)
    client.force_login(outsider)
    assert client.get(url(name, open_incident)).status_code == 404


def test_an_unknown_reference_answers_404(owner_client):
    assert owner_client.get("/incidents/INC-999999/active/").status_code == 404
    assert owner_client.get("/incidents/INC-99999999999999/active/").status_code == 404


def test_without_javascript_a_capture_comes_back_to_the_page(owner_client, open_incident):
    with time_machine.travel(NOW, tick=False):
        response = owner_client.post(
            url("incident-capture", open_incident), {"text": "Restarted the pods"}
        )
        refused = owner_client.post(url("incident-capture", open_incident), {"text": ""})
    assert response.status_code == 302
    assert response["Location"] == url("incident-active", open_incident)
    assert open_incident.timeline.filter(text="Restarted the pods").exists()
    assert refused.status_code == 422
    assert (
        "<html" in refused.content.decode()
        and "This field is required." in refused.content.decode()
    )


def test_the_history_page_shows_the_hand_over(owner_client, open_incident, teammate, owner):
    role_assign(incident=open_incident, role="communications_lead", person=teammate, user=owner)
    page = owner_client.get(reverse("history", args=[open_incident.ref])).content.decode()
    assert "Communications lead" in page or "communications lead" in page
    assert "Marcus Webb" in page


def test_the_demos_open_incident_has_roles_and_two_status_updates(client):
    call_command("seed_demo", stdout=StringIO())
    incident = Incident.objects.get(status=Incident.Status.IDENTIFIED)
    assert incident.communications_lead.username == "sam"
    assert incident.scribe.username == "lena"
    assert incident.status_updates.count() == 2
    assert incident.status_updates.filter(audience="stakeholders").count() == 1
    client.force_login(incident.owner)
    page = client.get(url("incident-active", incident)).content.decode()
    assert "communications lead" in page and "scribe" in page
    assert "Customers who sign in with single sign-on may see an error." in page


def test_adding_an_entry_on_the_outline_starts_at_now_while_the_incident_is_open(
    owner_client, open_incident
):
    owner_client.cookies["tz"] = "Europe/Berlin"
    new_entry = reverse("block-new", args=[open_incident.ref, "entry"])
    with time_machine.travel(NOW, tick=False):
        form = owner_client.get(new_entry, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="2026-12-02 14:04:05"' in form
    assert "Europe/Berlin" in form
    with time_machine.travel(NOW, tick=False):
        milestone_mark(incident=open_incident, milestone="resolved", user=open_incident.owner)
    # Written up afterwards, the time is the one to look up: nothing is guessed.
    form = owner_client.get(new_entry, HTTP_HX_REQUEST="true").content.decode()
    assert 'name="occurred_at"' in form and "2026-12-02 14:04:05" not in form
