"""The weekly action-item review: the groups a team walks through, and marking a week reviewed.

Every group is read with its own LIMITed query and all the counts with one aggregate, so the
page costs the same number of queries with ten open items or ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet

from actions.models import ActionItem, WeeklyReview
from incidents.models import Team

PAGE_SIZE = 25
UPCOMING_DAYS = 7
STALE_DAYS = 14
CLOSED_DAYS = 7
OPEN = Q(status__in=ActionItem.OPEN_STATUSES)


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
        "closed": Q(status__in=ActionItem.CLOSED_STATUSES)
        & Q(closed_at__gte=now - timedelta(CLOSED_DAYS)),
    }


def owning_team(team: Team) -> Q:
    """An item belongs to its own team, or else to its incident's team."""
    return Q(team=team) | Q(team__isnull=True, incident__team=team)


def review_items(filters: dict) -> QuerySet:
    """Action items narrowed by the review's filters: team, owner, severity, service."""
    items = ActionItem.objects.all()
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
    relevant = OPEN | conditions["closed"]
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
    rows = (
        items.filter(group_conditions(today, now)[spec.key])
        .select_related("incident__severity", "owner", "team")
        .order_by(*spec.order)
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
