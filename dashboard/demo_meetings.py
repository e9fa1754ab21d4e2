"""Review meetings on the demo data: one held, with its records, and one still to come."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from actions.models import MeetingAttendee, MeetingDecision, MeetingDissent, ReviewMeeting
from incidents.models import Incident
from kernel.blocks import save_with_history

HELD_FOR = "Payment service outage: database connections exhausted"
SCHEDULED_FOR = "Search results up to 40 minutes stale"
DECISIONS = (
    "Connection limits are set per service by the owning team, written down beside the "
    "service, and checked in the deploy pipeline.",
    "The canary stage runs long enough to see a connection count climb: 30 minutes for "
    "payment-service.",
)
DISSENT = (
    "I still think the retries were the bigger problem: with a backoff the pool would have "
    "held, whatever its size. We agreed to look at it again after the canary change."
)


def _attend(meeting, people, presence_by_user, by) -> None:
    for position, (username, presence) in enumerate(presence_by_user):
        row = MeetingAttendee(
            meeting=meeting, user=people[username], presence=presence, position=position
        )
        save_with_history(row, by)


def seed_review_meetings(people: dict, now) -> None:
    held_for = Incident.objects.filter(title=HELD_FOR).first()
    if held_for is not None and not held_for.review_meetings.exists():
        priya, marcus = people["priya"], people["marcus"]
        start = (held_for.resolved_at or now - timedelta(days=6)) + timedelta(days=2)
        start = start.replace(hour=14, minute=0, second=0)
        # Each part as long as it took: the analysis ran over, the closing was short.
        seconds = [290, 655, 1420, 980, 210]
        meeting = ReviewMeeting(
            incident=held_for,
            scheduled_at=start,
            location="Room Ada and the video call",
            held_on=timezone.localtime(start).date(),
            started_at=start,
            ended_at=start + timedelta(seconds=sum(seconds)),
            part=4,
            part_seconds=seconds,
            recorded_by=priya,
        )
        save_with_history(meeting, priya)
        _attend(
            meeting,
            people,
            [("priya", "present"), ("marcus", "present"), ("lena", "present"), ("sam", "absent")],
            priya,
        )
        for position, text in enumerate(DECISIONS):
            decision = MeetingDecision(
                meeting=meeting, text=text, recorded_by=priya, position=position
            )
            save_with_history(decision, priya)
        # Written down by Priya during the meeting, confirmed by Marcus afterwards.
        dissent = MeetingDissent(meeting=meeting, author=marcus, text=DISSENT, written_by=priya)
        save_with_history(dissent, priya)
        dissent.consented_at = start + timedelta(minutes=62)
        dissent.version += 1
        save_with_history(dissent, marcus)

    scheduled_for = Incident.objects.filter(title=SCHEDULED_FOR).first()
    if scheduled_for is not None and not scheduled_for.review_meetings.exists():
        lena = people["lena"]
        soon = (now + timedelta(days=2)).replace(hour=15, minute=0, second=0)
        meeting = ReviewMeeting(
            incident=scheduled_for,
            scheduled_at=soon,
            location="https://meet.example.com/search-review",
            recorded_by=lena,
        )
        save_with_history(meeting, lena)
        _attend(
            meeting, people, [("lena", "invited"), ("sam", "invited"), ("demo", "invited")], lena
        )
