"""A premortem round: writing alone, the reveal, grouping, voting, and the results.

Every read of reasons goes through `reasons_for`, which is where "hidden until the reveal" is
kept: before the facilitator reveals them, a person gets only the reasons they wrote, whoever
they are (the facilitator and admins included). Pages, fragments, the history, live events and
the admin site all read reasons through it or show counts only.

Every write is a function here, called by the views (and the demo data); each checks the phase
on the locked premortem row, so two facilitators pressing at once or a vote racing the limit
cannot slip past a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from incidents.policy import require_facilitate, require_take_part
from premortems.live import premortem_event_on_commit
from premortems.models import MAX_WRITING_MINUTES, Premortem, Reason, ReasonGroup, Vote

Phase = Premortem.Phase
MAX_REASONS_PER_PERSON = 50
MAX_EXTRA_MINUTES = 60


class RoundRefused(Exception):
    """A step the premortem's phase does not allow now; the message says why, in words."""


def reasons_for(premortem: Premortem, user) -> QuerySet[Reason]:
    """The reasons `user` may read: all of them once revealed, else only their own."""
    reasons = premortem.reasons.select_related("author", "group")
    if premortem.revealed:
        return reasons
    return reasons.filter(author=user) if user.is_authenticated else reasons.none()


def reason_counts(premortem: Premortem) -> tuple[int, int]:
    """How many reasons are written and by how many people: what anyone may know."""
    counts = premortem.reasons.aggregate(n=Count("pk"), people=Count("author", distinct=True))
    return counts["n"], counts["people"]


def _locked(premortem: Premortem) -> Premortem:
    return Premortem.objects.select_for_update().select_related("team").get(pk=premortem.pk)


def _save(premortem: Premortem, user, fields: list[str]) -> None:
    premortem.version += 1
    premortem._history_user = user
    premortem.save(update_fields=[*fields, "version", "updated_at"])


def premortem_create(*, user, participants=(), **fields) -> Premortem:
    """A new premortem, its writing time-box starting now, its facilitator taking part."""
    with transaction.atomic():
        premortem = Premortem(**fields)
        premortem.start_writing()
        premortem._history_user = user
        premortem.full_clean()
        premortem.save()
        premortem.participants.set({*participants, premortem.facilitator})
    return premortem


def participant_join(*, premortem: Premortem, user) -> bool:
    """Make `user` a participant; False when they were one already."""
    require_take_part(user, premortem)
    if premortem.participants.filter(pk=user.pk).exists():
        return False
    with transaction.atomic():
        premortem.participants.add(user)
        premortem_event_on_commit(premortem, "join", user)
    return True


def reason_add(*, premortem: Premortem, user, text: str) -> Reason:
    """One reason, written alone: only while the writing time-box runs."""
    require_take_part(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.WRITING:
            raise RoundRefused("The reasons are revealed: writing is over.")
        if not locked.writing_open():
            raise RoundRefused("The time for writing is up. The facilitator can add a few minutes.")
        if locked.reasons.filter(author=user).count() >= MAX_REASONS_PER_PERSON:
            raise RoundRefused(f"{MAX_REASONS_PER_PERSON} reasons each is the most a round takes.")
        locked.participants.add(user)
        reason = Reason(premortem=locked, author=user, text=text)
        reason._history_user = user
        reason.full_clean()
        reason.save()
        premortem_event_on_commit(locked, "reason", user)
    return reason


def reason_delete(*, premortem: Premortem, user, reason: Reason) -> None:
    """Take back one's own reason while writing is still going on."""
    require_take_part(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.WRITING:
            raise RoundRefused("The reasons are revealed: they stay as written.")
        reason._history_user = user
        reason.delete()
        premortem_event_on_commit(locked, "reason", user)


def writing_extend(*, premortem: Premortem, user, minutes: int) -> Premortem:
    """More time to write: from the old deadline, or from now when it has passed."""
    require_facilitate(user, premortem)
    if not 1 <= minutes <= MAX_EXTRA_MINUTES:
        raise RoundRefused(f"Add between 1 and {MAX_EXTRA_MINUTES} minutes.")
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.WRITING:
            raise RoundRefused("Writing is over: the reasons are revealed.")
        start = max(locked.writing_ends_at, timezone.now())
        if start + timedelta(minutes=minutes) - timezone.now() > timedelta(
            minutes=MAX_WRITING_MINUTES
        ):
            raise RoundRefused(
                f"A time-box of more than {MAX_WRITING_MINUTES} minutes is too long."
            )
        locked.writing_ends_at = start + timedelta(minutes=minutes)
        _save(locked, user, ["writing_ends_at"])
        premortem_event_on_commit(locked, "phase", user)
    return locked


def phase_advance(*, premortem: Premortem, user, to: str) -> Premortem:
    """Move to the next phase, and only to the next one (a page may be a phase behind).

    Revealing ends writing at once, whatever is left of the time-box. Starting the vote puts
    each reason nobody grouped into a group of its own, so every reason can be voted on.
    """
    require_facilitate(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if to not in Phase.values:
            raise RoundRefused("There is no such phase.")
        if locked.next_phase() != to:
            raise RoundRefused(
                f"The premortem is in its {locked.get_phase_display().lower()} phase; "
                "reload the page to see where it is."
            )
        now = timezone.now()
        fields = ["phase"]
        if to == Phase.REVEALED:
            if not locked.reasons.exists():
                raise RoundRefused("Nobody has written a reason yet: there is nothing to reveal.")
            locked.revealed_at = now
            locked.writing_ends_at = min(locked.writing_ends_at, now)
            fields += ["revealed_at", "writing_ends_at"]
        if to == Phase.VOTING:
            for reason in locked.reasons.filter(group__isnull=True).select_related("author"):
                group = ReasonGroup(premortem=locked, title=_title_from(reason.text))
                group._history_user = user
                group.save()
                reason.group = group
                reason._history_user = user
                reason.save(update_fields=["group"])
        locked.phase = to
        _save(locked, user, fields)
        premortem_event_on_commit(locked, "reveal" if to == Phase.REVEALED else "phase", user)
    return locked


def _title_from(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:199] + "…"


def group_create(*, premortem: Premortem, user, reasons: list[int], title: str) -> ReasonGroup:
    """Put reasons saying the same thing under one title; groups left empty go away."""
    require_take_part(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.GROUPING:
            raise RoundRefused("Reasons are grouped in the grouping phase only.")
        chosen = list(locked.reasons.filter(pk__in=reasons))
        if len(chosen) != len(set(reasons)) or not chosen:
            raise RoundRefused("Pick reasons of this premortem to group.")
        group = ReasonGroup(premortem=locked, title=title, created_by=user)
        group._history_user = user
        group.full_clean()
        group.save()
        for reason in chosen:
            reason.group = group
            reason._history_user = user
            reason.save(update_fields=["group"])
        for empty in locked.groups.filter(reasons__isnull=True):
            empty._history_user = user
            empty.delete()
        premortem_event_on_commit(locked, "group", user)
    return group


def group_dissolve(*, premortem: Premortem, user, group: ReasonGroup) -> None:
    """Undo a group: its reasons stand alone again."""
    require_take_part(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.GROUPING:
            raise RoundRefused("Groups change in the grouping phase only.")
        for reason in group.reasons.all():
            reason.group = None
            reason._history_user = user
            reason.save(update_fields=["group"])
        group._history_user = user
        group.delete()
        premortem_event_on_commit(locked, "group", user)


def vote_toggle(*, premortem: Premortem, user, group: ReasonGroup) -> bool:
    """Vote for a group, or take the vote back; True when the vote is now cast.

    The premortem row is locked first, so two votes sent at once are counted one after the
    other and nobody gets past `votes_per_person`.
    """
    require_take_part(user, premortem)
    with transaction.atomic():
        locked = _locked(premortem)
        if locked.phase != Phase.VOTING:
            raise RoundRefused("Votes are cast in the voting phase only.")
        mine = Vote.objects.filter(group__premortem=locked, voter=user)
        existing = mine.filter(group=group).first()
        if existing is not None:
            existing._history_user = user
            existing.delete()
            cast = False
        else:
            if mine.count() >= locked.votes_per_person:
                raise RoundRefused(
                    f"You have used your {locked.votes_per_person} votes: take one back first."
                )
            locked.participants.add(user)
            vote = Vote(group=group, voter=user)
            vote._history_user = user
            vote.save()
            cast = True
        premortem_event_on_commit(locked, "vote", user)
    return cast


@dataclass
class Ranked:
    group: ReasonGroup
    votes: int
    reasons: list[Reason]
    mine: bool


def ranked_groups(premortem: Premortem, user) -> list[Ranked]:
    """The groups, most votes first, each with its reasons and whether `user` voted for it."""
    if not premortem.revealed:
        return []
    groups = list(
        premortem.groups.annotate(n=Count("votes", distinct=True))
        .prefetch_related("reasons__author", "action_items__owner")
        .order_by("-n", "id")
    )
    voted = set(
        Vote.objects.filter(group__premortem=premortem, voter=user).values_list(
            "group_id", flat=True
        )
    )
    return [Ranked(g, g.n, list(g.reasons.all()), g.pk in voted) for g in groups]


def votes_left(premortem: Premortem, user) -> int:
    used = Vote.objects.filter(group__premortem=premortem, voter=user).count()
    return max(premortem.votes_per_person - used, 0)
