"""The review meeting: scheduling and invitations, the timer, attendance, decisions, dissent
with its author's consent, the reminder that reads from it, and bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions.meetings import AGENDA, PLANNED_MINUTES, meeting_schedule
from actions.models import MeetingAttendee, MeetingDecision, MeetingDissent, ReviewMeeting
from actions.nags import NagConfig, send_nags
from kernel import delivery as engine
from kernel.history import document_history
from kernel.live import document_channel
from kernel.models import Delivery
from tests import factories
from tests.live import events_after

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
# Monday at one; the meeting is planned for two o'clock (UTC).
MEETING_AT = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
NOW = MEETING_AT - timedelta(hours=1)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def meeting(incident, owner, teammate):
    return meeting_schedule(
        incident=incident,
        scheduled_at=MEETING_AT,
        location="Room Ada",
        attendees=[owner, teammate],
        user=owner,
    )


def meeting_url(meeting, rest: str = "") -> str:
    return f"/incidents/{meeting.incident.ref}/meetings/{meeting.pk}/{rest}"


def press(client, meeting, action: str, version: int | None = None):
    meeting.refresh_from_db()
    return client.post(
        meeting_url(meeting, "timer/"),
        {"action": action, "base_version": version or meeting.version},
        headers=HTMX,
    )


def calendar_event(message) -> tuple[icalendar.Calendar, icalendar.Event]:
    (attachment,) = message.attachments
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "review-meeting.ics"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    (event,) = calendar.walk("VEVENT")
    return calendar, event


# Scheduling and invitations -----------------------------------------------------------------


def test_scheduling_invites_each_attendee_with_a_calendar_file(
    owner_client, owner, teammate, incident
):
    url = f"/incidents/{incident.ref}/meetings/schedule/"
    page = owner_client.get(url).content.decode()
    assert "Starts at" in page and "YYYY-MM-DD HH:MM, 24-hour, UTC" in page
    # The incident owner is invited by default.
    assert re.search(rf'name="attendees" value="{owner.pk}"[^>]* checked>', page)

    response = owner_client.post(
        url,
        {
            "scheduled_at": "2026-11-23 14:00",
            "location": "Room Ada",
            "attendees": [owner.pk, teammate.pk],
        },
    )
    meeting = ReviewMeeting.objects.get()
    assert response.status_code == 302 and response["Location"] == meeting_url(meeting)
    assert meeting.scheduled_at == MEETING_AT and meeting.held_on is None
    assert {row.user for row in meeting.attendance.all()} == {owner, teammate}
    assert Delivery.objects.filter(topic="meeting-invitation").count() == 2

    engine.deliver_due()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "marcus@example.com",
        "priya@example.com",
    ]
    message = mail.outbox[0]
    assert message.subject == (
        f"Invitation: postmortem review of {incident.ref} {incident.title}, 2026-11-23 14:00 (UTC)"
    )
    assert "When: 2026-11-23 14:00 (UTC), 55 minutes" in message.body
    assert "Where: Room Ada" in message.body
    calendar, event = calendar_event(message)
    assert str(calendar["method"]) == "REQUEST"
    assert str(event["uid"]) == f"review-meeting-{meeting.pk}@localhost"
    assert event["sequence"] == 0
    assert event.decoded("dtstart") == MEETING_AT
    assert event.decoded("dtend") == MEETING_AT + timedelta(minutes=PLANNED_MINUTES)
    assert str(event["summary"]) == f"Postmortem review: {incident.ref} {incident.title}"
    assert str(event["location"]) == "Room Ada"
    attendees = sorted(str(address) for address in event["attendee"])
    assert attendees == ["mailto:marcus@example.com", "mailto:priya@example.com"]
    assert meeting_url(meeting) in str(event["description"])


def test_moving_the_meeting_sends_an_update_with_the_same_uid_and_a_higher_sequence(
    owner_client, meeting, owner, teammate
):
    engine.deliver_due()
    (first_uid,) = {str(calendar_event(m)[1]["uid"]) for m in mail.outbox}
    mail.outbox.clear()

    response = owner_client.post(
        f"/incidents/{meeting.incident.ref}/meeting/{meeting.pk}/",
        {
            "base_version": meeting.version,
            "scheduled_at": "2026-11-24 09:30",
            "location": "Room Ada",
            "attendees": [owner.pk, teammate.pk],
        },
        headers=HTMX,
    )
    assert response.status_code == 200, response.content.decode()[:400]
    assert "Everyone invited gets the update." in response.content.decode()
    meeting.refresh_from_db()
    assert meeting.sequence == 1

    engine.deliver_due()
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.subject.startswith("Moved: postmortem review of")
    _, event = calendar_event(message)
    assert str(event["uid"]) == first_uid
    assert event["sequence"] == 1
    assert event.decoded("dtstart") == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_someone_added_later_gets_the_invitation_and_nobody_else_is_told_again(
    owner_client, meeting, owner, teammate
):
    engine.deliver_due()
    mail.outbox.clear()
    newcomer = factories.user("ines", first_name="Ines", last_name="Duarte")
    response = owner_client.post(
        f"/incidents/{meeting.incident.ref}/meeting/{meeting.pk}/",
        {
            "base_version": meeting.version,
            "scheduled_at": "2026-11-23 14:00",
            "location": "Room Ada",
            "attendees": [owner.pk, teammate.pk, newcomer.pk],
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    engine.deliver_due()
    (message,) = mail.outbox
    assert message.to == ["ines@example.com"]
    assert calendar_event(message)[1]["sequence"] == 0


def test_someone_taken_off_gets_a_cancellation_for_their_calendar(
    owner_client, meeting, owner, teammate
):
    engine.deliver_due()
    (uid,) = {str(calendar_event(m)[1]["uid"]) for m in mail.outbox}
    mail.outbox.clear()
    response = owner_client.post(
        f"/incidents/{meeting.incident.ref}/meeting/{meeting.pk}/",
        {
            "base_version": meeting.version,
            "scheduled_at": "2026-11-23 14:00",
            "location": "Room Ada",
            "attendees": [owner.pk],
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    engine.deliver_due()
    (message,) = mail.outbox
    assert message.to == ["marcus@example.com"]
    assert message.subject.startswith("Cancelled for you: postmortem review of")
    (attachment,) = message.attachments
    assert attachment.get_param("method") == "CANCEL"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"
    assert str(event["uid"]) == uid
    assert str(event["attendee"]) == "mailto:marcus@example.com"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("0001-01-01 00:00", "Pick a time from now on: this is in the past."),
        ("9999-12-31 23:59", "Pick a time within the coming year."),
        ("2026-11-19 14:00", "Pick a time from now on: this is in the past."),
        ("2026-11-23 14:00\x00", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("23/11/2026 2pm", "Enter a date and time as YYYY-MM-DD HH:MM"),
        ("", "This field is required."),
    ],
    ids=["year 1", "year 9999", "past", "NUL", "other order", "empty"],
)
def test_a_time_that_cannot_be_right_is_refused_in_words(owner_client, incident, typed, words):
    response = owner_client.post(
        f"/incidents/{incident.ref}/meetings/schedule/", {"scheduled_at": typed}
    )
    assert response.status_code == 422
    assert words in response.content.decode()
    # One message, the one that helps: not also "say when the meeting is".
    assert "Say when the meeting is" not in response.content.decode()
    assert not ReviewMeeting.objects.exists()


def test_a_huge_or_nul_place_is_refused_in_words(owner_client, incident):
    url = f"/incidents/{incident.ref}/meetings/schedule/"
    for location, words in (
        ("x" * 100_000, "Ensure this value has at most 300 characters"),
        ("Room\x00Ada", "Null characters are not allowed."),
    ):
        data = {"scheduled_at": "2026-11-23 14:00", "location": location}
        response = owner_client.post(url, data)
        assert response.status_code == 422
        assert words in response.content.decode()


def test_a_held_meeting_cannot_move(owner_client, meeting):
    press(owner_client, meeting, "start")
    meeting.refresh_from_db()
    response = owner_client.post(
        f"/incidents/{meeting.incident.ref}/meeting/{meeting.pk}/",
        {"base_version": meeting.version, "scheduled_at": "2026-11-25 10:00", "location": ""},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert "This meeting has been held: it cannot move." in response.content.decode()


# The timer ----------------------------------------------------------------------------------


def test_the_timer_starts_pauses_and_moves_on_from_stored_times(owner_client, meeting, _frozen):
    _frozen.move_to(MEETING_AT)
    started = press(owner_client, meeting, "start")
    assert started.status_code == 200
    meeting.refresh_from_db()
    assert (meeting.part, meeting.part_started_at) == (0, MEETING_AT)
    assert meeting.started_at == MEETING_AT
    assert meeting.held_on == MEETING_AT.date()
    assert "data-running" in started.content.decode() and "Start the meeting" not in (
        started.content.decode()
    )

    _frozen.move_to(MEETING_AT + timedelta(minutes=4, seconds=30))
    page = owner_client.get(meeting_url(meeting)).content.decode()
    assert 'data-elapsed-ms="270000"' in page and "04:30" in page

    assert press(owner_client, meeting, "next").status_code == 200
    meeting.refresh_from_db()
    assert meeting.part == 1 and meeting.part_seconds[:2] == [270, 0]
    assert meeting.part_started_at == MEETING_AT + timedelta(minutes=4, seconds=30)

    _frozen.move_to(MEETING_AT + timedelta(minutes=16, seconds=30))
    paused = press(owner_client, meeting, "pause")
    meeting.refresh_from_db()
    assert meeting.part_started_at is None and meeting.part_seconds[:2] == [270, 720]
    # Twelve minutes of a ten-minute part: over its planned length.
    assert "12:00" in paused.content.decode() and "agenda-part current over" in (
        paused.content.decode()
    )

    _frozen.move_to(MEETING_AT + timedelta(minutes=30))
    assert press(owner_client, meeting, "next").status_code == 200
    meeting.refresh_from_db()
    assert meeting.part == 2 and meeting.part_started_at is None  # paused stays paused
    assert press(owner_client, meeting, "back").status_code == 200
    meeting.refresh_from_db()
    assert meeting.part == 1


def test_two_screens_pressing_next_at_once_move_the_meeting_one_part(owner_client, meeting):
    press(owner_client, meeting, "start")
    meeting.refresh_from_db()
    shown = meeting.version
    assert press(owner_client, meeting, "next", version=shown).status_code == 200
    second = press(owner_client, meeting, "next", version=shown)
    assert second.status_code == 409
    assert "Someone else pressed first" in second.content.decode()
    meeting.refresh_from_db()
    assert meeting.part == 1


def test_the_timer_says_what_it_cannot_do(owner_client, meeting):
    refused = press(owner_client, meeting, "pause")
    assert refused.status_code == 409 and "The timer is paused already." in refused.content.decode()
    early_end = press(owner_client, meeting, "end").content.decode()
    assert "Start the meeting before ending it." in early_end
    for _ in AGENDA[1:]:
        press(owner_client, meeting, "next")
    last = press(owner_client, meeting, "next")
    assert last.status_code == 409 and "This is the last part" in last.content.decode()
    bad = owner_client.post(meeting_url(meeting, "timer/"), {"action": "rewind", "base_version": 1})
    assert bad.status_code == 400 and "Say start, pause, next, back or end." in bad.content.decode()
    huge = owner_client.post(
        meeting_url(meeting, "timer/"), {"action": "start", "base_version": "9" * 40}
    )
    assert huge.status_code == 400 and "reload the page" in huge.content.decode()


def test_ending_the_meeting_records_it_held_and_stops_the_clock(owner_client, meeting, _frozen):
    _frozen.move_to(MEETING_AT)
    press(owner_client, meeting, "start")
    _frozen.move_to(MEETING_AT + timedelta(minutes=50))
    ended = press(owner_client, meeting, "end")
    assert "Ended" in ended.content.decode() and "Pause" not in ended.content.decode()
    meeting.refresh_from_db()
    assert meeting.ended_at == MEETING_AT + timedelta(minutes=50)
    assert meeting.part_seconds[0] == 3000 and meeting.is_over
    again = press(owner_client, meeting, "start")
    assert again.status_code == 409 and "This meeting has ended" in again.content.decode()


def test_timer_presses_are_in_the_history_and_on_the_event_stream(
    owner_client, owner, meeting, bus, django_capture_on_commit_callbacks
):
    in_process_bus = bus
    channel = document_channel(meeting.incident_id)
    before = in_process_bus.last_id(channel)
    with django_capture_on_commit_callbacks(execute=True):
        press(owner_client, meeting, "start")
    events = [e for _, e in events_after(in_process_bus, channel, before)]
    assert [(e["kind"], e["id"], e["action"]) for e in events] == [("meeting", meeting.pk, "saved")]
    changes = [c for c in document_history(meeting.incident) if c.kind == "meeting"]
    assert changes[0].who == owner and changes[0].action == "changed"


# Attendance, decisions, dissent -------------------------------------------------------------


def test_attendees_are_marked_present_or_absent(owner_client, meeting, teammate):
    row = meeting.attendance.get(user=teammate)
    response = owner_client.post(
        f"/incidents/{meeting.incident.ref}/attendee/{row.pk}/",
        {"base_version": row.version, "presence": "absent"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert 'aria-pressed="true">Absent<span' in response.content.decode()
    row.refresh_from_db()
    assert row.presence == MeetingAttendee.Presence.ABSENT
    bad = owner_client.post(
        f"/incidents/{meeting.incident.ref}/attendee/{row.pk}/",
        {"base_version": row.version, "presence": "asleep"},
        headers=HTMX,
    )
    assert bad.status_code == 422 and "Select a valid choice" in bad.content.decode()


def test_someone_who_joined_is_added_once(owner_client, meeting, teammate):
    url = f"/incidents/{meeting.incident.ref}/attendee/new/"
    newcomer = factories.user("ines", first_name="Ines", last_name="Duarte")
    added = owner_client.post(
        url, {"meeting": meeting.pk, "user": newcomer.pk, "presence": "present"}, headers=HTMX
    )
    assert added.status_code == 200 and "Ines Duarte" in added.content.decode()
    again = owner_client.post(
        url, {"meeting": meeting.pk, "user": teammate.pk, "presence": "present"}, headers=HTMX
    )
    assert again.status_code == 422 and "Marcus Webb is on the list already." in (
        again.content.decode()
    )


def test_a_decision_is_recorded_into_the_meeting_list(owner_client, owner, meeting):
    url = f"/incidents/{meeting.incident.ref}/decision/new/"
    form = owner_client.get(f"{url}?meeting={meeting.pk}", headers=HTMX).content.decode()
    assert 'aria-label="New decision"' in form and f'name="meeting" value="{meeting.pk}"' in form
    response = owner_client.post(
        url, {"meeting": meeting.pk, "text": "Connection pool limits get an owner."}, headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#decisions-{meeting.pk}"
    assert "Connection pool limits get an owner." in response.content.decode()
    decision = MeetingDecision.objects.get()
    assert (decision.meeting, decision.recorded_by) == (meeting, owner)
    for text, words in (
        ("", "This field is required."),
        ("x" * 100_000, "Ensure this value has at most 2000 characters"),
        ("A\x00B", "Null characters are not allowed."),
    ):
        refused = owner_client.post(url, {"meeting": meeting.pk, "text": text}, headers=HTMX)
        assert refused.status_code == 422 and words in refused.content.decode()
    other = factories.incident(owner=owner)
    elsewhere = owner_client.post(
        f"/incidents/{other.ref}/decision/new/", {"meeting": meeting.pk, "text": "Sneaky"}
    )
    assert elsewhere.status_code == 404


def test_a_dissent_written_for_someone_waits_for_their_consent(
    client, owner, teammate, outsider, meeting
):
    client.force_login(owner)
    url = f"/incidents/{meeting.incident.ref}/dissent/new/"
    text = "The pool limit was a reasonable default; the missing alert is the cause."
    client.post(url, {"meeting": meeting.pk, "author": teammate.pk, "text": text}, headers=HTMX)
    dissent = MeetingDissent.objects.get()
    assert (dissent.author, dissent.written_by, dissent.consented) == (teammate, owner, False)
    page = client.get(meeting_url(meeting)).content.decode()
    assert "Pending consent" in page and "Waiting for Marcus Webb to confirm it." in page

    consent = f"/incidents/{meeting.incident.ref}/meetings/dissent/{dissent.pk}/consent/"
    for someone in (owner, outsider):
        client.force_login(someone)
        refused = client.post(consent, {"base_version": dissent.version}, headers=HTMX)
        assert refused.status_code == 403
        assert "Only Marcus Webb can confirm this view as theirs." in refused.content.decode()
    dissent.refresh_from_db()
    assert not dissent.consented

    client.force_login(teammate)
    confirmed = client.post(consent, {"base_version": dissent.version}, headers=HTMX)
    assert confirmed.status_code == 200
    assert "Confirmed by Marcus Webb" in confirmed.content.decode()
    dissent.refresh_from_db()
    assert dissent.consented

    # Someone else changing the words puts it back to waiting for its author.
    client.force_login(owner)
    client.post(
        f"/incidents/{meeting.incident.ref}/dissent/{dissent.pk}/",
        {"base_version": dissent.version, "author": teammate.pk, "text": text + " Mostly."},
        headers=HTMX,
    )
    dissent.refresh_from_db()
    assert not dissent.consented and dissent.version == 3
    history = [c for c in document_history(meeting.incident) if c.kind == "dissent"]
    assert len(history) >= 2


def test_a_dissent_written_by_its_author_is_theirs_at_once(owner_client, owner, meeting):
    owner_client.post(
        f"/incidents/{meeting.incident.ref}/dissent/new/",
        {"meeting": meeting.pk, "author": owner.pk, "text": "We should not have waited."},
        headers=HTMX,
    )
    dissent = MeetingDissent.objects.get()
    assert dissent.consented and dissent.written_by == owner


def test_a_stale_consent_asks_to_read_the_text_again(client, owner, teammate, meeting):
    dissent = MeetingDissent.objects.create(
        meeting=meeting, author=teammate, text="Not convinced.", written_by=owner
    )
    client.force_login(teammate)
    response = client.post(
        f"/incidents/{meeting.incident.ref}/meetings/dissent/{dissent.pk}/consent/",
        {"base_version": dissent.version + 1},
        headers=HTMX,
    )
    assert response.status_code == 409
    assert "read it again before confirming" in response.content.decode()


def test_a_new_action_item_filed_in_the_meeting_is_in_the_document(owner_client, owner, meeting):
    incident = meeting.incident
    page = owner_client.get(meeting_url(meeting)).content.decode()
    assert 'id="actions"' in page and "Add action item" in page
    response = owner_client.post(
        f"/incidents/{incident.ref}/action/new/",
        {
            "title": "Alert on pool saturation",
            "owner": owner.pk,
            "due_date": "2026-12-01",
            "priority": 2,
            "kind": "detection",
            "status": "open",
        },
        headers=HTMX,
    )
    assert response.status_code == 200, response.content.decode()[:400]
    document = owner_client.get(f"/incidents/{incident.ref}/").content.decode()
    assert "Alert on pool saturation" in document


# The pages ----------------------------------------------------------------------------------


def test_the_page_and_the_projector_layout_show_the_agenda(owner_client, meeting):
    page = owner_client.get(meeting_url(meeting)).content.decode()
    for part in AGENDA:
        assert part.title in page
    assert "We are here to understand how the system let this happen" in page
    assert 'href="' + meeting_url(meeting, "projector/") + '"' in page
    projector = owner_client.get(meeting_url(meeting, "projector/")).content.decode()
    assert 'class="page meeting projector"' in projector
    assert "Laptop and phone layout" in projector
    missing = f"/incidents/{meeting.incident.ref}/meetings/999999/"
    assert owner_client.get(missing).status_code == 404


def test_the_page_reads_its_records_in_a_fixed_number_of_queries(owner_client, owner, meeting):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(meeting_url(meeting)).status_code == 200
        return len(captured)

    def add_records(n: int) -> None:
        for i in range(n):
            person = factories.user(first_name=f"Guest {i}")
            MeetingAttendee.objects.create(meeting=meeting, user=person, position=10 + i)
            MeetingDecision.objects.create(meeting=meeting, text=f"Decision {i}", recorded_by=owner)
            MeetingDissent.objects.create(meeting=meeting, author=person, text=f"View {i}")

    add_records(1)
    few = queries()
    add_records(6)
    assert queries() == few


def test_the_meetings_list_links_to_scheduled_and_held_meetings(owner_client, meeting):
    page = owner_client.get(f"/actions/meetings/{meeting.incident.ref}/").content.decode()
    assert "Scheduled for 2026-11-23 14:00" in page
    assert f'href="{meeting_url(meeting)}"' in page
    assert "Schedule a review meeting" in page


# The reminder about a missing review meeting ------------------------------------------------


def _resolved(owner, days_ago: int):
    incident = factories.incident(
        owner=owner,
        level=3,
        title="Slow logins",
        started_at=timezone.now() - timedelta(days=days_ago, hours=2),
    )
    incident.status = "resolved"
    incident.resolved_at = timezone.now() - timedelta(days=days_ago)
    incident.save()
    return incident


def _reminded_of_meeting() -> bool:
    mail.outbox.clear()
    send_nags(config=NagConfig.from_settings(retry_seconds=0), sleep=lambda s: None)
    return any("no review meeting is recorded" in m.body for m in mail.outbox)


def test_a_meeting_still_to_come_holds_the_reminder_back_until_its_time_passes(
    owner, teammate, _frozen
):
    incident = _resolved(owner, days_ago=6)
    meeting_schedule(
        incident=incident, scheduled_at=MEETING_AT, location="", attendees=[owner], user=owner
    )
    mail.outbox.clear()
    assert not _reminded_of_meeting()
    # The Monday has passed and the meeting was never held: the reminder is back.
    _frozen.move_to(MEETING_AT + timedelta(days=1))
    assert _reminded_of_meeting()


def test_a_meeting_held_silences_the_reminder(owner_client, owner, _frozen):
    incident = _resolved(owner, days_ago=6)
    meeting = meeting_schedule(
        incident=incident, scheduled_at=MEETING_AT, location="", attendees=[owner], user=owner
    )
    _frozen.move_to(MEETING_AT)
    press(owner_client, meeting, "start")
    _frozen.move_to(MEETING_AT + timedelta(days=1))
    assert not _reminded_of_meeting()
