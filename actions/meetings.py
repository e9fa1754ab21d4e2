"""The postmortem review meeting: its agenda and timer, scheduling, invitations, and records.

A review meeting is short and keeps to a set structure: open with the blameless reminder, walk
the timeline, agree on the analysis, give every action item an owner and a date, close. Each
part has a planned length; the timer says how long the part under way has taken against it.

The timer is three fields of the meeting (`part`, `part_started_at`, `part_seconds`) changed
through the versioned save like any block, so every change has a history row and an event on
the document's stream, and every open screen computes the same running clock from the stored
start time. A press of "Next part" carries the version the screen showed: two people pressing
it at once move the meeting on by one part, not two.

Scheduling sends each attendee an iCalendar invitation (RFC 5545) through the delivery engine;
moving the meeting sends an update with the same UID and a higher SEQUENCE, which calendars
apply to the event they already hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from actions.models import MeetingAttendee, MeetingDissent, ReviewMeeting
from kernel import delivery as engine
from kernel.blocks import SaveResult, block_create, block_save, save_with_history
from kernel.channels import one_line
from kernel.kinds import next_position
from kernel.live import publish_on_commit
from kernel.models import Delivery
from kernel.text import display_name

User = get_user_model()
INVITATION_TOPIC = "meeting-invitation"
# Where `make run` serves, for links sent from a machine without a base URL set.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"
# A meeting is scheduled ahead, and not further ahead than anyone plans a review.
FURTHEST_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Part:
    key: str
    title: str
    minutes: int
    purpose: str

    @property
    def planned_seconds(self) -> int:
        return self.minutes * 60


BLAMELESS_REMINDER = (
    "We are here to understand how the system let this happen, not who to blame. Everyone "
    "acted on what they knew at the time, and it made sense to them then. Say what you saw and "
    "what you did; ask what made an action reasonable, not why someone failed. What we find "
    "goes into the system: its tools, alerts, runbooks and defaults."
)

AGENDA: tuple[Part, ...] = (
    Part("opening", "Opening", 5, "Read the blameless reminder aloud; say who takes notes."),
    Part(
        "timeline",
        "Timeline review",
        10,
        "Walk the timeline together: is anything missing, wrong, or out of order?",
    ),
    Part(
        "analysis",
        "Analysis",
        20,
        "Agree on the causes and their whys. Record decisions, and dissent in its author's words.",
    ),
    Part(
        "actions",
        "Action items",
        15,
        "Every cause gets an action or an accepted risk; every action an owner and a due date. "
        "Low effort, high impact first.",
    ),
    Part("closing", "Closing", 5, "Read back the decisions and the actions; thank everyone."),
)
PLANNED_MINUTES = sum(part.minutes for part in AGENDA)
TIMER_FIELDS = ("part", "part_started_at", "part_seconds", "started_at", "held_on", "ended_at")
SCHEDULE_FIELDS = ("scheduled_at", "location", "sequence")


class MeetingRefusal(Exception):
    """A step the meeting cannot take, in words for the person who asked."""


# The agenda and its clock ------------------------------------------------------------------


def seconds_per_part(meeting: ReviewMeeting) -> list[int]:
    """The seconds each part has taken so far, not counting the run under way."""
    stored = list(meeting.part_seconds or [])
    return [int(value) for value in stored[: len(AGENDA)]] + [0] * (len(AGENDA) - len(stored))


def part_elapsed(meeting: ReviewMeeting, index: int, now: datetime) -> float:
    """Seconds part `index` has taken, counting the run under way when it is that part."""
    elapsed = float(seconds_per_part(meeting)[index])
    if meeting.is_running and meeting.part == index:
        elapsed += max((now - meeting.part_started_at).total_seconds(), 0.0)
    return elapsed


@dataclass(frozen=True)
class AgendaPart:
    index: int
    part: Part
    elapsed: float
    current: bool
    running: bool
    done: bool

    @property
    def over(self) -> bool:
        return self.elapsed > self.part.planned_seconds

    @property
    def elapsed_ms(self) -> int:
        return int(self.elapsed * 1000)


def agenda(meeting: ReviewMeeting, now: datetime | None = None) -> list[AgendaPart]:
    now = now or timezone.now()
    return [
        AgendaPart(
            index=index,
            part=part,
            elapsed=part_elapsed(meeting, index, now),
            current=index == meeting.part and not meeting.is_over,
            running=meeting.is_running and index == meeting.part,
            done=index < meeting.part or meeting.is_over,
        )
        for index, part in enumerate(AGENDA)
    ]


def _stopped(meeting: ReviewMeeting, now: datetime) -> list[int]:
    """The seconds per part once the run under way (if any) is added to its part."""
    seconds = seconds_per_part(meeting)
    if meeting.is_running:
        seconds[meeting.part] = round(part_elapsed(meeting, meeting.part, now))
    return seconds


def timer_changes(meeting: ReviewMeeting, action: str, now: datetime) -> dict:
    """What one press of a timer button changes; MeetingRefusal when it cannot be done.

    start: run the current part (the first start also marks the meeting held today);
    pause: stop the clock, keeping the time taken; next / back: move to the neighbouring part,
    the clock running on if it ran; end: stop the clock and close the meeting.
    """
    if meeting.ended_at is not None:
        raise MeetingRefusal("This meeting has ended; its records stay as they are.")
    if action == "start":
        if meeting.is_running:
            raise MeetingRefusal("The timer is running already.")
        return {
            "part_started_at": now,
            "part_seconds": seconds_per_part(meeting),
            "started_at": meeting.started_at or now,
            "held_on": meeting.held_on or timezone.localdate(now),
        }
    if action == "pause":
        if not meeting.is_running:
            raise MeetingRefusal("The timer is paused already.")
        return {"part_started_at": None, "part_seconds": _stopped(meeting, now)}
    if action in ("next", "back"):
        target = meeting.part + (1 if action == "next" else -1)
        if not 0 <= target < len(AGENDA):
            raise MeetingRefusal(
                "This is the last part: end the meeting when you are done."
                if action == "next"
                else "This is the first part already."
            )
        return {
            "part": target,
            "part_seconds": _stopped(meeting, now),
            "part_started_at": now if meeting.is_running else None,
        }
    if action == "end":
        if meeting.started_at is None:
            raise MeetingRefusal("Start the meeting before ending it.")
        return {"part_started_at": None, "part_seconds": _stopped(meeting, now), "ended_at": now}
    raise MeetingRefusal("Say start, pause, next, back or end.")


def meeting_timer(
    *, meeting: ReviewMeeting, action: str, base_version: int, user, now: datetime | None = None
) -> SaveResult:
    """Press a timer button, from the version of the meeting the screen showed.

    Refused (a stale result) when the meeting changed since: someone else pressed first.
    """
    now = now or timezone.now()
    if meeting.version != base_version:
        return SaveResult(block=meeting, saved=False, current=meeting)
    changes = timer_changes(meeting, action, now)
    return block_save(
        block=meeting, changes=changes, base_version=base_version, user=user, fields=TIMER_FIELDS
    )


# Scheduling and invitations -----------------------------------------------------------------


def check_schedule(scheduled_at: datetime, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if scheduled_at < now:
        raise ValidationError({"scheduled_at": "Pick a time from now on: this is in the past."})
    if scheduled_at > now + FURTHEST_AHEAD:
        raise ValidationError({"scheduled_at": "Pick a time within the coming year."})


def _sync_attendees(meeting: ReviewMeeting, people, user) -> tuple[list, list[int]]:
    """Make the invited people exactly `people`; returns those added and the ids of those
    taken off."""
    wanted = {person.pk: person for person in people}
    current = {row.user_id: row for row in meeting.attendance.all()}
    removed = []
    for user_id, row in current.items():
        if user_id not in wanted:
            row._history_user = user
            publish_on_commit(row, "deleted", user)
            row.delete()
            removed.append(user_id)
    added = []
    for user_id, person in wanted.items():
        if user_id not in current:
            row = MeetingAttendee(
                meeting=meeting,
                user=person,
                position=next_position(meeting.attendance.all()),
            )
            block_create(block=row, user=user)
            added.append(person)
    return added, removed


def meeting_schedule(
    *, incident, scheduled_at: datetime, location: str, attendees, user
) -> ReviewMeeting:
    """Schedule a review meeting and invite its attendees."""
    check_schedule(scheduled_at)
    with transaction.atomic():
        meeting = ReviewMeeting(
            incident=incident, scheduled_at=scheduled_at, location=location, recorded_by=user
        )
        save_with_history(meeting, user)
        _sync_attendees(meeting, attendees, user)
        invitations_queue(meeting, [person.pk for person in attendees])
        publish_on_commit(meeting, "created", user)
    return meeting


def meeting_update(
    block: ReviewMeeting, *, base_version: int, user, attendees=None, **changes
) -> SaveResult:
    """Change a meeting's time, place or attendees: the versioned save of its kind.

    A new time or place is an update of the invitation (a higher SEQUENCE) to everyone
    invited; people newly invited get the invitation as it now stands.
    """
    moved = any(
        name in changes and changes[name] != getattr(block, name)
        for name in ("scheduled_at", "location")
    )
    if moved and block.is_held:
        raise ValidationError({"scheduled_at": "This meeting has been held: it cannot move."})
    if moved and "scheduled_at" in changes and changes["scheduled_at"] != block.scheduled_at:
        check_schedule(changes["scheduled_at"])
    with transaction.atomic():
        if moved:
            changes["sequence"] = block.sequence + 1
        result = block_save(
            block=block,
            changes=changes,
            base_version=base_version,
            user=user,
            fields=(*SCHEDULE_FIELDS, *TIMER_FIELDS),
        )
        if not result.saved:
            return result
        meeting = result.block
        added, removed = (
            _sync_attendees(meeting, attendees, user) if attendees is not None else ([], [])
        )
        if meeting.is_held:
            return result
        if moved:
            invitations_queue(meeting, list(meeting.attendance.values_list("user_id", flat=True)))
        elif added:
            invitations_queue(meeting, [person.pk for person in added])
        # Those taken off get a cancellation, so the meeting leaves their calendar.
        invitations_queue(meeting, removed)
    return result


def invitations_queue(meeting: ReviewMeeting, user_ids: list[int]) -> list[Delivery]:
    """One invitation e-mail per invited person who has an address."""
    people = User.objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    return engine.queue(
        Delivery(
            topic=INVITATION_TOPIC,
            subject_id=meeting.pk,
            channel="email",
            address={"to": [person.email]},
        )
        for person in people.order_by("pk")
    )


def _base_url() -> str:
    return (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/")


def organizer_address() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "hindsight@localhost"


def meeting_uid(meeting: ReviewMeeting) -> str:
    """Stable for the life of the meeting: calendars match updates to the event by it."""
    host = organizer_address().rpartition("@")[2] or "hindsight"
    return f"review-meeting-{meeting.pk}@{host}"


def calendar_file(
    meeting: ReviewMeeting, *, now: datetime | None = None, cancel_for: str = ""
) -> bytes:
    """The invitation as an iCalendar file (METHOD:REQUEST), one VEVENT.

    With `cancel_for` (an e-mail address), the cancellation for that one person, who was
    taken off the meeting: METHOD:CANCEL, naming only them.
    """
    incident = meeting.incident
    url = _base_url() + meeting.get_absolute_url()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Hindsight//Postmortem review meetings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel_for else "REQUEST")
    event = icalendar.Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.sequence)
    if cancel_for:
        event.add("status", "CANCELLED")
    event.add("dtstamp", (now or timezone.now()).astimezone(ZoneInfo("UTC")))
    start = meeting.scheduled_at.astimezone(ZoneInfo("UTC"))
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=PLANNED_MINUTES))
    event.add("summary", one_line(f"Postmortem review: {incident.ref} {incident.title}"))
    event.add(
        "description",
        "The review meeting of the postmortem: "
        + ", ".join(part.title.lower() for part in AGENDA)
        + f".\n\nThe meeting page: {url}",
    )
    if meeting.location:
        event.add("location", meeting.location)
    event.add("url", url)
    organizer = icalendar.vCalAddress(f"mailto:{organizer_address()}")
    organizer.params["cn"] = icalendar.vText("Hindsight")
    event.add("organizer", organizer)
    people = (
        [(cancel_for, cancel_for)]
        if cancel_for
        else [
            (row.user.email, display_name(row.user))
            for row in meeting.attendance.select_related("user")
            if row.user.email
        ]
    )
    for email, name in people:
        attendee = icalendar.vCalAddress(f"mailto:{email}")
        attendee.params["cn"] = icalendar.vText(name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText("NEEDS-ACTION")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical()


def when_in_words(moment: datetime) -> str:
    """A time as every message writes it: ISO order, 24-hour, the zone named."""
    zone = timezone.get_default_timezone()
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def _compose(delivery: Delivery, meetings: dict[int, ReviewMeeting]) -> engine.Message:
    meeting = meetings.get(delivery.subject_id)
    if meeting is None or meeting.scheduled_at is None:
        raise engine.ChannelError("the meeting no longer exists", retryable=False)
    incident = meeting.incident
    update = meeting.sequence > 0
    when = when_in_words(meeting.scheduled_at)
    to = (delivery.address.get("to") or [""])[0]
    if not meeting.attendance.filter(user__email=to).exists():
        return _cancellation(meeting, to, when)
    text = (
        f"{'The review meeting has moved' if update else 'You are invited to the review meeting'}"
        f" of {incident.ref} {incident.title}.\n\n"
        f"When: {when}, {PLANNED_MINUTES} minutes\n"
        + (f"Where: {meeting.location}\n" if meeting.location else "")
        + "\nThe agenda:\n"
        + "".join(f"- {part.title} ({part.minutes} min): {part.purpose}\n" for part in AGENDA)
        + f"\nRead the postmortem before: {_base_url()}{incident.get_absolute_url()}\n"
        f"The meeting page: {_base_url()}{meeting.get_absolute_url()}\n"
    )
    subject = f"{'Moved' if update else 'Invitation'}: postmortem review of {incident.ref}"
    return engine.Message(
        subject=f"{subject} {incident.title}, {when}",
        text=text,
        data={"ref": incident.ref, "meeting": meeting.pk, "sequence": meeting.sequence},
        attachments=(
            engine.Attachment(
                filename="review-meeting.ics",
                content=calendar_file(meeting),
                mimetype="text/calendar; method=REQUEST; charset=utf-8",
            ),
        ),
    )


def _cancellation(meeting: ReviewMeeting, to: str, when: str) -> engine.Message:
    """For someone taken off the meeting: it leaves their calendar."""
    incident = meeting.incident
    return engine.Message(
        subject=f"Cancelled for you: postmortem review of {incident.ref} {incident.title}, {when}",
        text=(
            f"You are no longer on the review meeting of {incident.ref} {incident.title} "
            f"({when}).\n\nThe postmortem: {_base_url()}{incident.get_absolute_url()}\n"
        ),
        data={"ref": incident.ref, "meeting": meeting.pk, "cancelled": True},
        attachments=(
            engine.Attachment(
                filename="review-meeting.ics",
                content=calendar_file(meeting, cancel_for=to),
                mimetype="text/calendar; method=CANCEL; charset=utf-8",
            ),
        ),
    )


INVITATION = engine.Topic(
    name=INVITATION_TOPIC,
    label="Review meeting invitation",
    compose=_compose,
    prepare=lambda deliveries: ReviewMeeting.objects.select_related("incident").in_bulk(
        {d.subject_id for d in deliveries}
    ),
)


# Dissent ------------------------------------------------------------------------------------


def dissent_update(block: MeetingDissent, *, base_version: int, user, **changes) -> SaveResult:
    """Saving a dissent's text: its author's change is consented; anyone else's waits again."""
    fields = ("text", "author", "consented_at")
    changed = any(getattr(block, name) != value for name, value in changes.items())
    if changed:
        author = changes.get("author", block.author)
        changes["consented_at"] = timezone.now() if author.pk == user.pk else None
    return block_save(
        block=block, changes=changes, base_version=base_version, user=user, fields=fields
    )


def dissent_consent(*, dissent: MeetingDissent, base_version: int, user) -> SaveResult:
    """The author confirms the dissent says what they think. Nobody else can."""
    if dissent.author_id != user.pk:
        raise PermissionError(
            f"Only {display_name(dissent.author)} can confirm this view as theirs."
        )
    return block_save(
        block=dissent,
        changes={"consented_at": timezone.now()},
        base_version=base_version,
        user=user,
        fields=("consented_at",),
    )
