"""The weekly action-item review: the groups a team walks through, and marking a week reviewed.

Every group is read with its own LIMITed query and all the counts with one aggregate, so the
page costs the same number of queries with ten open items or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, F, Q, QuerySet, Value, When

from actions.models import ActionItem, WeeklyReview
from incidents.models import Team
from postmortems.models import AcceptedRisk

PAGE_SIZE = 25
UPCOMING_DAYS = 7
STALE_DAYS = 14
CLOSED_DAYS = 7
OPEN = Q(status__in=ActionItem.OPEN_STATUSES)
# Done, with a re-check date, and not re-checked since that date.
RECHECK_DUE = Q(status=ActionItem.Status.DONE, recheck_on__isnull=False) & (
    Q(rechecked_on__isnull=True) | Q(rechecked_on__lt=F("recheck_on"))
)


@dataclass(frozen=True)
class GroupSpec:
    key: str
    title: str
    hint: str
    empty: str
    order: tuple[str, ...]


GROUPS = (
    GroupSpec(
        "overdue",
        "Overdue",
        "Oldest first. Each one needs a date it will really happen, another owner, or a "
        "decision not to do it.",
        "Nothing is overdue.",
        ("due_date", "priority", "pk"),
    ),
    GroupSpec(
        "upcoming",
        f"Due in the next {UPCOMING_DAYS} days",
        "Is anything here blocked, or waiting on someone the team can nudge?",
        "Nothing falls due this week.",
        ("due_date", "priority", "pk"),
    ),
    GroupSpec(
        "orphans",
        "No owner or no due date",
        "Work without a person and a date does not happen: give each one both.",
        "Every open item has an owner and a due date.",
        ("created_at", "pk"),
    ),
    GroupSpec(
        "stale",
        f"No change in {STALE_DAYS} days",
        "Open, and nobody has touched them lately. Still wanted? Still the right owner?",
        "Every open item moved in the last two weeks.",
        ("updated_at", "pk"),
    ),
    GroupSpec(
        "recheck",
        "Due for a re-check",
        "Done, and the day to look again has come: is it still working? Say what you looked "
        "at, or reopen it.",
        "No finished work is waiting for a re-check.",
        ("recheck_on", "pk"),
    ),
    GroupSpec(
        "closed",
        f"Closed in the last {CLOSED_DAYS} days",
        "Done or dropped, with what changed and whether it was worth it.",
        "Nothing was closed this week.",
        ("-closed_at", "-pk"),
    ),
)
GROUP_KEYS = tuple(spec.key for spec in GROUPS)


def group_conditions(today: date, now: datetime) -> dict[str, Q]:
    return {
        "overdue": OPEN & Q(due_date__lt=today),
        "upcoming": OPEN & Q(due_date__gte=today, due_date__lte=today + timedelta(UPCOMING_DAYS)),
        "orphans": OPEN & (Q(owner__isnull=True) | Q(due_date__isnull=True)),
        "stale": OPEN & Q(updated_at__lt=now - timedelta(STALE_DAYS)),
        "recheck": RECHECK_DUE & Q(recheck_on__lte=today),
        "closed": Q(status__in=ActionItem.CLOSED_STATUSES)
        & Q(closed_at__gte=now - timedelta(CLOSED_DAYS)),
    }


# Low effort for high impact first, then high impact, then low effort, then the rest.
QUICK_WINS_FIRST = "quick-wins"
QUICK_WIN_RANK = Case(
    When(impact=ActionItem.Level.HIGH, effort=ActionItem.Level.LOW, then=Value(0)),
    When(impact=ActionItem.Level.HIGH, then=Value(1)),
    When(effort=ActionItem.Level.LOW, then=Value(2)),
    default=Value(3),
)


def owning_team(team: Team) -> Q:
    """An item belongs to its own team, or else to its incident's (or premortem's) team."""
    return (
        Q(team=team)
        | Q(team__isnull=True, incident__team=team)
        | Q(team__isnull=True, premortem__team=team)
    )


def review_items(filters: dict) -> QuerySet:
    """Action items narrowed by the review's filters: team, owner, severity, service; and
    ranked for "low effort, high impact first" when that order is chosen."""
    items = ActionItem.objects.all()
    if filters.get("order") == QUICK_WINS_FIRST:
        items = items.annotate(quick_win_order=QUICK_WIN_RANK)
    if "team" in filters:
        items = items.filter(owning_team(filters["team"]))
    if "owner" in filters:
        items = items.filter(owner=filters["owner"])
    if "severity" in filters:
        items = items.filter(incident__severity=filters["severity"])
    if "service" in filters:
        items = items.filter(incident__services=filters["service"])
    return items


def review_counts(items: QuerySet, *, today: date, now: datetime) -> dict[str, int]:
    conditions = group_conditions(today, now)
    relevant = OPEN | conditions["closed"] | conditions["recheck"]
    return items.filter(relevant).aggregate(
        open=Count("pk", filter=OPEN),
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()},
    )


@dataclass
class Group:
    spec: GroupSpec
    count: int | None  # None where only more rows of the group are shown
    items: list[ActionItem]
    page: int
    has_more: bool

    @property
    def key(self) -> str:
        return self.spec.key


def group_page(
    items: QuerySet, spec: GroupSpec, *, today, now, page: int = 1, size: int = PAGE_SIZE
) -> tuple[list[ActionItem], bool]:
    """One page of a group, and whether more follow: LIMIT and OFFSET, never the whole group."""
    start = (page - 1) * size
    ranked = ("quick_win_order",) if "quick_win_order" in items.query.annotations else ()
    rows = (
        items.filter(group_conditions(today, now)[spec.key])
        .select_related("incident__severity", "premortem", "owner", "team")
        .order_by(*ranked, *spec.order)
    )
    found = list(rows[start : start + size + 1])
    return found[:size], len(found) > size


def review_groups(
    items: QuerySet,
    counts: dict[str, int],
    *,
    today,
    now,
    pages: dict[str, int] | None = None,
    size: int = PAGE_SIZE,
) -> list[Group]:
    groups = []
    for spec in GROUPS:
        page = (pages or {}).get(spec.key, 1)
        rows, more = group_page(items, spec, today=today, now=now, page=page, size=size)
        groups.append(Group(spec, counts[spec.key], rows, page, more))
    return groups


def risks_to_revisit(filters: dict, *, today: date, size: int = PAGE_SIZE) -> list[AcceptedRisk]:
    """Accepted risks whose day to look again has come or comes this week, soonest first.

    Narrowed by team (the incident's) and service when those filters are set; one query.
    """
    risks = AcceptedRisk.objects.filter(revisit_on__lte=today + timedelta(UPCOMING_DAYS))
    if "team" in filters:
        risks = risks.filter(cause__postmortem__incident__team=filters["team"])
    if "service" in filters:
        risks = risks.filter(cause__postmortem__incident__services=filters["service"])
    if "severity" in filters:
        risks = risks.filter(cause__postmortem__incident__severity=filters["severity"])
    risks = risks.select_related("accepted_by", "cause__postmortem__incident")
    return list(risks.order_by("revisit_on", "pk")[:size])


def week_of(day: date) -> date:
    """The Monday starting the week `day` is in."""
    return day - timedelta(days=day.weekday())


def weekly_review_mark(
    *, team: Team, notes: str, user, today: date, now: datetime
) -> tuple[WeeklyReview, bool]:
    """Record that `team` reviewed its items this week; False with the earlier mark if done."""
    week = week_of(today)
    counts = review_counts(review_items({"team": team}), today=today, now=now)
    review = WeeklyReview(
        team=team,
        week=week,
        notes=notes,
        reviewed_by=user,
        open_count=counts["open"],
        overdue_count=counts["overdue"],
    )
    review._history_user = user
    try:
        with transaction.atomic():
            review.save()
    except IntegrityError:
        return WeeklyReview.objects.select_related("reviewed_by").get(team=team, week=week), False
    return review, True
