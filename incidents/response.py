"""Running an open incident: quick capture, milestones, roles and status updates.

Every function here is one transaction that changes the incident or its timeline, writes its
history rows and tells open pages after commit, so the page, the API and scripts all do the
same thing the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, StatusUpdate, TimelineEntry
from incidents.status_updates import status_update_queue
from kernel.blocks import block_create
from kernel.kinds import kind_of
from kernel.live import document_event_on_commit, publish_on_commit

User = get_user_model()
Kind = TimelineEntry.Kind

# A leading word (and a colon) says what kind of entry a captured line is: "mitigated: rolled
# back the deploy". The words are the ones responders type in chat.
KIND_WORDS: dict[str, str] = {
    "failure": Kind.FAILURE,
    "failed": Kind.FAILURE,
    "broke": Kind.FAILURE,
    "detected": Kind.DETECTION,
    "detection": Kind.DETECTION,
    "alert": Kind.DETECTION,
    "escalated": Kind.ESCALATION,
    "escalation": Kind.ESCALATION,
    "paged": Kind.ESCALATION,
    "response": Kind.RESPONSE,
    "action": Kind.RESPONSE,
    "doing": Kind.RESPONSE,
    "mitigated": Kind.MITIGATION,
    "mitigation": Kind.MITIGATION,
    "resolved": Kind.RESOLUTION,
    "resolution": Kind.RESOLUTION,
    "fixed": Kind.RESOLUTION,
    "comms": Kind.COMMUNICATION,
    "communication": Kind.COMMUNICATION,
    "update": Kind.COMMUNICATION,
    "note": Kind.NOTE,
}
# Alt + this key picks the kind while typing in the capture line.
KIND_KEYS: dict[str, str] = {
    "f": Kind.FAILURE,
    "d": Kind.DETECTION,
    "e": Kind.ESCALATION,
    "a": Kind.RESPONSE,
    "m": Kind.MITIGATION,
    "r": Kind.RESOLUTION,
    "c": Kind.COMMUNICATION,
    "n": Kind.NOTE,
}
_LEADING_WORD = re.compile(r"^\s*([A-Za-z]+)\s*:\s*(.*)$", re.DOTALL)

# How far ahead of the server's clock a typed time may be: clocks differ a little.
FUTURE_SLACK = timedelta(minutes=2)


def kind_from_text(text: str) -> tuple[str | None, str]:
    """The kind a leading word names, and the text without it; (None, text) when none does."""
    match = _LEADING_WORD.match(text)
    if match:
        kind = KIND_WORDS.get(match.group(1).lower())
        if kind and match.group(2).strip():
            return kind, match.group(2).strip()
    return None, text.strip()


def _check_moment(incident: Incident, moment: datetime, field: str, now: datetime) -> None:
    if moment < incident.started_at:
        raise ValidationError({field: "That is before the incident started."})
    if moment > now + FUTURE_SLACK:
        raise ValidationError({field: "That is in the future."})


def quick_capture(
    *, incident: Incident, text: str, user, kind: str | None = None, at: datetime | None = None
) -> TimelineEntry:
    """Add one line to the timeline, stamped now unless a time is given.

    The kind is the one chosen, else the one a leading word names ("mitigated: ..."), else a
    note. Times before the start of the incident are refused: move the start first.
    """
    now = timezone.now()
    guessed, rest = kind_from_text(text)
    if kind is None and guessed:
        kind, text = guessed, rest
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write what happened."})
    at = at or now
    _check_moment(incident, at, "occurred_at", now)
    entry = TimelineEntry(
        incident=incident,
        occurred_at=at.replace(microsecond=0),
        kind=kind or Kind.NOTE,
        text=text,
        added_by=user,
    )
    return block_create(block=entry, user=user)


@dataclass(frozen=True)
class Milestone:
    name: str
    field: str
    kind: str
    status: str | None
    entry_text: str


MILESTONES: dict[str, Milestone] = {
    milestone.name: milestone
    for milestone in (
        Milestone("detected", "detected_at", Kind.DETECTION, None, "Detected"),
        Milestone(
            "mitigated", "mitigated_at", Kind.MITIGATION, Incident.Status.MONITORING, "Mitigated"
        ),
        Milestone("resolved", "resolved_at", Kind.RESOLUTION, Incident.Status.RESOLVED, "Resolved"),
    )
}


def milestone_mark(
    *, incident: Incident, milestone: str, user, at: datetime | None = None, note: str = ""
) -> Incident:
    """Mark the incident detected, mitigated or resolved at `at` (now by default).

    1. Lock the incident row, so two people pressing the same button get one change.
    2. Set the milestone's time and move the status on (mitigated → monitoring, resolved →
       resolved; detection leaves the status as it is).
    3. Add the matching timeline entry, with the note if one was written.
    4. Save with a new version and history rows; the postmortem's due date follows resolution,
       and open pages hear of both changes after commit.
    """
    step = MILESTONES[milestone]
    now = timezone.now()
    at = (at or now).replace(microsecond=0)
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        _check_moment(locked, at, step.field, now)
        setattr(locked, step.field, at)
        if step.status:
            locked.status = step.status
        locked.version += 1
        locked._history_user = user
        locked.full_clean()
        locked.save()
        publish_on_commit(locked, "saved", user)
        text = f"{step.entry_text}: {note.strip()}" if note.strip() else step.entry_text
        entry = TimelineEntry(
            incident=locked, occurred_at=at, kind=step.kind, text=text, added_by=user
        )
        block_create(block=entry, user=user)
        # Whatever follows a change of the incident (the postmortem's due date, say) is
        # registered with its kind by the app that owns it.
        kind = kind_of(locked)
        if kind is not None and kind.after_save:
            kind.after_save(locked)
    return locked


ROLES: dict[str, str] = {
    "owner": "incident commander",
    "communications_lead": "communications lead",
    "scribe": "scribe",
}


def _name(person) -> str:
    return (person.get_full_name() or person.get_username()) if person else "nobody"


def role_assign(*, incident: Incident, role: str, person, user) -> Incident:
    """Hand a role to someone (or to nobody), recorded in the history and the timeline.

    The person also joins the responders, so the roster shows everyone with a part to play.
    Assigning the role to whoever holds it already changes nothing.
    """
    if role not in ROLES:
        raise ValidationError({"role": "No such role."})
    if role == "owner" and person is None:
        raise ValidationError({"person": "An open incident always has a commander."})
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        before = getattr(locked, role)
        if before == person:
            return locked
        setattr(locked, role, person)
        locked.version += 1
        locked._history_user = user
        locked.full_clean()
        locked.save()
        if person is not None:
            locked.responders.add(person)
        publish_on_commit(locked, "saved", user)
        title = ROLES[role]
        if before is None:
            text = f"{_name(person)} is now {title}."
        elif person is None:
            text = f"{_name(before)} is no longer {title}."
        else:
            text = f"{_name(before)} handed {title} to {_name(person)}."
        entry = TimelineEntry(
            incident=locked,
            occurred_at=timezone.now().replace(microsecond=0),
            kind=Kind.RESPONSE,
            text=text,
            added_by=user,
        )
        block_create(block=entry, user=user)
    return locked


def responder_join(*, incident: Incident, person, user) -> bool:
    """Add someone to the responders; False when they were one already."""
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if locked.responders.filter(pk=person.pk).exists():
            return False
        locked._history_user = user
        locked.version += 1
        locked.save()
        locked.responders.add(person)
        publish_on_commit(locked, "saved", user)
    return True


def status_update_text(update: StatusUpdate) -> str:
    """The update as one timeline entry. The time promised for the next one is left out: the
    entry's text is read later, in every time zone, when that promise no longer matters."""
    lines = [f"What we know: {update.known}", f"What we are doing: {update.doing}"]
    audience = "Stakeholder update" if update.for_stakeholders else "Internal update"
    return f"{audience}. " + "\n".join(lines)


def status_update_post(
    *,
    incident: Incident,
    known: str,
    doing: str,
    audience: str,
    user,
    next_update_at: datetime | None = None,
) -> StatusUpdate:
    """Post a status update: its row, its communication entry, and its sending.

    A stakeholder update is queued for the summary e-mail list and team Slack in the same
    transaction, and sent once it commits; an internal one stays in Hindsight. Either way the
    quiet-incident clock restarts.
    """
    now = timezone.now().replace(microsecond=0)
    update = StatusUpdate(
        incident=incident,
        posted_at=now,
        author=user,
        audience=audience,
        known=known.strip(),
        doing=doing.strip(),
        next_update_at=next_update_at,
    )
    with transaction.atomic():
        update._history_user = user
        update.full_clean()
        entry = TimelineEntry(
            incident=incident,
            occurred_at=now,
            kind=Kind.COMMUNICATION,
            text=status_update_text(update),
            added_by=user,
        )
        update.entry = block_create(block=entry, user=user)
        update.save()
        document_event_on_commit(
            incident.pk, {"type": "status-update", "id": update.pk, "audience": audience}
        )
        status_update_queue(update)
    return update


def quiet_snooze(*, incident: Incident, until: datetime, reason: str, user) -> Incident:
    """Hold the quiet-incident reminders until `until`, for a reason everyone can read."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why, so the others know."})
    if until <= timezone.now():
        raise ValidationError({"until": "Pick a time in the future."})
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        locked.quiet_snoozed_until = until
        locked.quiet_snooze_reason = reason
        locked.version += 1
        locked._history_user = user
        locked.full_clean()
        locked.save()
        publish_on_commit(locked, "saved", user)
    return locked
