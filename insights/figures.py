"""The figures of the insights page, each from the incidents the reader may see.

Every figure starts from `incidents.policy.visible_incidents`, so a private incident is counted
only for the people who may read it. A figure is a title, its columns and its rows; each row
names the incidents behind it (`bar`), which the page links to and the CSV leaves out.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest

from actions.models import ActionItem
from incidents.milestones import METRICS
from incidents.models import Incident
from incidents.policy import visible_incidents
from insights.models import Recurrence
from insights.periods import Period
from kernel.templatetags.blocks import duration
from postmortems.models import Cause, CauseCategory

UNCATEGORISED = "Not categorised yet"
AGEING = [(1, 7, "1–7 days"), (8, 30, "8–30 days"), (31, 90, "31–90 days"), (91, None, "over 90")]


@dataclass
class Row:
    label: str
    values: list
    bar: str = ""  # names the incidents behind the row for the incident listing; "" = none

    @property
    def text(self) -> str:
        """The values as one line, for e-mail."""
        return " · ".join(str(value) for value in self.values if value != "")


@dataclass
class Figure:
    key: str
    title: str
    columns: list[str]
    rows: list[Row] = field(default_factory=list)
    note: str = ""
    chart: bool = True  # the first value column is drawn as bars

    @property
    def top(self) -> float:
        numbers = [r.values[0] for r in self.rows if isinstance(r.values[0], (int, float))]
        return max(numbers, default=0) or 1


def p90(values: list) -> object:
    """Nearest-rank 90th percentile: the value 90% of the others are at or below."""
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None


def median(values: list) -> object:
    return statistics.median(sorted(values)) if values else None


def scoped(user, *, team=None, service=None, severity=None) -> QuerySet[Incident]:
    """The incidents the figures count. The policy's answer is read as a subquery, so its
    joins or DISTINCT never multiply or merge the rows the figures group and count."""
    visible = visible_incidents(user, Incident.objects.all())
    incidents = Incident.objects.filter(pk__in=visible.values("pk"))
    if team:
        incidents = incidents.filter(team=team)
    if service:
        incidents = incidents.filter(services=service)
    if severity:
        incidents = incidents.filter(severity=severity)
    return incidents


def in_period(incidents: QuerySet[Incident], period: Period) -> QuerySet[Incident]:
    return incidents.filter(started_at__gte=period.start_at, started_at__lt=period.end_at)


def _rate(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "—"


def by_severity(incidents: QuerySet[Incident]) -> Figure:
    counts = (
        incidents.order_by("severity__level").values_list("severity__level").annotate(n=Count("pk"))
    )
    rows = [Row(f"SEV{level}", [n], f"severity:{level}") for level, n in counts]
    return Figure("severity", "Incidents by severity", ["Severity", "Incidents"], rows)


def by_service(incidents: QuerySet[Incident]) -> Figure:
    pairs = (
        incidents.values_list("services__slug", "services__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "services__name")[:12]
    )
    rows = [
        Row(name or "No service named", [n], f"service:{slug or '-'}") for slug, name, n in pairs
    ]
    return Figure("service", "Incidents by service", ["Service", "Incidents"], rows)


def _spanning(incidents: QuerySet[Incident], trend: list[Period]) -> QuerySet[Incident]:
    return incidents.filter(started_at__gte=trend[0].start_at, started_at__lt=trend[-1].end_at)


def _period_of(when, trend: list[Period]) -> Period | None:
    return next((p for p in trend if p.start_at <= when < p.end_at), None)


def _metric_values(rows: list[dict], metric) -> list[timedelta]:
    values = []
    for row in rows:
        start, end = row[f"{metric.start}_at"], row[f"{metric.end}_at"]
        if start and end:
            values.append(end - start)
    return values


class Percentile(Aggregate):
    """PostgreSQL's ordered-set percentile of a duration; NULLs (a missing milestone) skipped.

    The continuous one interpolates (a median of 10 and 5 minutes is 7.5); the discrete one is
    the nearest rank, as `p90` above computes it."""

    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, fraction: float, *, discrete: bool = False):
        super().__init__(
            expression,
            fraction=fraction,
            function="PERCENTILE_DISC" if discrete else "PERCENTILE_CONT",
            output_field=DurationField(),
        )


def _bucket(field: str, trend: list[Period]) -> Case:
    """Which period of the trend a row falls in, as its index, computed by the database."""
    return Case(
        *(
            When(**{f"{field}__gte": p.start_at, f"{field}__lt": p.end_at}, then=Value(n))
            for n, p in enumerate(trend)
        ),
        output_field=IntegerField(),
    )


def _time_to_rows(incidents: QuerySet[Incident], trend: list[Period]) -> dict[int, dict]:
    """Per period index: each metric's median, p90 and how many incidents had both ends."""
    if connection.vendor != "postgresql":
        return _time_to_rows_in_python(incidents, trend)
    aggregates = {}
    for metric in METRICS:
        span = ExpressionWrapper(
            F(f"{metric.end}_at") - F(f"{metric.start}_at"), output_field=DurationField()
        )
        aggregates[f"{metric.key}__median"] = Percentile(span, 0.5)
        aggregates[f"{metric.key}__p90"] = Percentile(span, 0.9, discrete=True)
        aggregates[f"{metric.key}__n"] = Count(span)
    rows = (
        _spanning(incidents, trend)
        .annotate(bucket=_bucket("started_at", trend))
        .order_by()
        .values("bucket")
        .annotate(**aggregates)
    )
    return {row["bucket"]: row for row in rows}


def _time_to_rows_in_python(incidents: QuerySet[Incident], trend: list[Period]) -> dict:
    fields = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
    by_period: dict[int, list[dict]] = {n: [] for n in range(len(trend))}
    for row in _spanning(incidents, trend).values(*fields):
        period = _period_of(row["started_at"], trend)
        if period is not None:
            by_period[trend.index(period)].append(row)
    out = {}
    for n, rows in by_period.items():
        out[n] = {}
        for metric in METRICS:
            values = _metric_values(rows, metric)
            out[n].update(
                {
                    f"{metric.key}__median": median(values),
                    f"{metric.key}__p90": p90(values),
                    f"{metric.key}__n": len(values),
                }
            )
    return out


def time_to(incidents: QuerySet[Incident], trend: list[Period]) -> Figure:
    """Median and p90 of each time-to metric in the selected period, and its median before;
    one query for all the periods of the trend."""
    by_period = _time_to_rows(incidents, trend)
    last = len(trend) - 1
    figure = Figure(
        "time-to",
        "Time to detect, acknowledge, mitigate and resolve",
        ["Measure", "Median", "p90", "Incidents measured"]
        + [f"Median {p.label}" for p in trend[:-1]],
        chart=False,
        note="p90: nine in ten incidents took this long or less. A measure counts only "
        "incidents with both of its milestones set.",
    )
    for metric in METRICS:
        row = by_period.get(last, {})
        earlier = [duration(by_period.get(n, {}).get(f"{metric.key}__median")) for n in range(last)]
        figure.rows.append(
            Row(
                metric.label,
                [
                    duration(row.get(f"{metric.key}__median")),
                    duration(row.get(f"{metric.key}__p90")),
                    row.get(f"{metric.key}__n", 0),
                    *earlier,
                ],
                f"measured:{metric.key}",
            )
        )
    return figure


def on_time(incidents: QuerySet[Incident], now) -> Figure:
    # The first publication of each postmortem by a join and GROUP BY, then counted around
    # it; a correlated subquery per incident costs an index probe for each of thousands.
    unpublished = Q(first__isnull=True)
    counts = (
        incidents.filter(postmortem__due_at__isnull=False)
        .annotate(first=Min("postmortem__publications__published_at"))
        .aggregate(
            **{
                "on-time": Count("pk", filter=Q(first__lte=F("postmortem__due_at"))),
                "late": Count("pk", filter=Q(first__gt=F("postmortem__due_at"))),
                "overdue": Count("pk", filter=unpublished & Q(postmortem__due_at__lt=now)),
                "not-due": Count("pk", filter=unpublished & Q(postmortem__due_at__gte=now)),
            }
        )
    )
    labels = [
        ("on-time", "Published by the due date"),
        ("late", "Published after the due date"),
        ("overdue", "Not published, past due"),
        ("not-due", "Not published, not due yet"),
    ]
    total = sum(counts.values())
    return Figure(
        "postmortems",
        "Postmortems written on time",
        ["Postmortems", "Count", "Share"],
        [
            Row(label, [counts[key], _rate(counts[key], total)], f"pm:{key}")
            for key, label in labels
        ],
        note="Due dates are set when an incident is resolved.",
    )


def _item_counts(items: QuerySet[ActionItem], today: date) -> dict:
    status = ActionItem.Status
    is_open = Q(status__in=ActionItem.OPEN_STATUSES)
    counts = {
        "opened": Count("pk"),
        "closed": Count("pk", filter=Q(status__in=ActionItem.CLOSED_STATUSES)),
        "open": Count("pk", filter=is_open),
        "wont": Count("pk", filter=Q(status=status.WONT_DO)),
        "answered": Count("pk", filter=Q(status=status.DONE) & ~Q(worth_it="")),
        "said_no": Count("pk", filter=Q(status=status.DONE, worth_it=ActionItem.WorthIt.NO)),
    }
    for low, high, _ in AGEING:
        late = is_open & Q(due_date__lte=today - timedelta(low))
        if high is not None:
            late &= Q(due_date__gte=today - timedelta(high))
        counts[f"overdue_{low}"] = Count("pk", filter=late)
    if connection.vendor == "postgresql":
        # An item filed as already done is stamped closed a moment before it is created.
        # (GREATEST skips NULLs, so an open item is kept out by the When.)
        span = ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField())
        to_close = Case(
            When(
                closed_at__isnull=False,
                then=Greatest(span, Value(timedelta(0)), output_field=DurationField()),
            ),
            output_field=DurationField(),
        )
        counts["to_close"] = Percentile(to_close, 0.5)
        return items.aggregate(**counts)
    found = items.aggregate(**counts)
    closed = items.filter(closed_at__isnull=False).values_list("created_at", "closed_at")
    found["to_close"] = median([max(done - made, timedelta(0)) for made, done in closed])
    return found


def action_items(incidents: QuerySet[Incident], today: date) -> Figure:
    found = _item_counts(ActionItem.objects.filter(incident__in=incidents), today)
    rows = [
        Row("Opened", [found["opened"], ""], "items:all"),
        Row("Closed (done or won't do)", [found["closed"], ""], "items:closed"),
        Row("Still open", [found["open"], ""], "items:open"),
        Row("Median time to close", ["", duration(found["to_close"])]),
        Row(
            "Won't do, of those closed",
            [found["wont"], _rate(found["wont"], found["closed"])],
            "items:wont_do",
        ),
        Row(
            'Answered "was it worth it?" with no',
            [
                found["said_no"],
                f"{_rate(found['said_no'], found['answered'])} of {found['answered']} answers",
            ],
            "items:worth_no",
        ),
    ]
    for low, _, label in AGEING:
        rows.append(Row(f"Overdue {label}", [found[f"overdue_{low}"], ""], f"items:overdue_{low}"))
    return Figure(
        "actions",
        "Action items filed for these incidents",
        ["Action items", "Count", "Rate or time"],
        rows,
        note="The worth-it answer is asked when an item is closed as done; "
        "a high share of no means the reviews file the wrong fixes.",
    )


def causes(incidents: QuerySet[Incident], trend: list[Period]) -> Figure:
    names = dict(CauseCategory.objects.values_list("id", "name"))
    counts: dict[Period, Counter] = {p: Counter() for p in trend}
    grouped = (
        Cause.objects.filter(postmortem__incident__in=_spanning(incidents, trend))
        .annotate(bucket=_bucket("postmortem__incident__started_at", trend))
        .order_by()
        .values_list("bucket", "category_id")
        .annotate(n=Count("id"))
    )
    for bucket, category, n in grouped:
        if bucket is not None:
            counts[trend[bucket]][category] += n
    selected = counts[trend[-1]]
    keys = [pk for pk in names if any(counts[p][pk] for p in trend)]
    if any(counts[p][None] for p in trend):
        keys.append(None)
    rows = [
        Row(
            names.get(pk, UNCATEGORISED),
            [selected[pk], *(counts[p][pk] for p in trend[:-1])],
            f"category:{pk or '-'}",
        )
        for pk in sorted(keys, key=lambda pk: -selected[pk])
    ]
    return Figure(
        "causes",
        "Causes by category",
        ["Category", f"Causes {trend[-1].label}"] + [p.label for p in trend[:-1]],
        rows,
        note="Each cause counts once; one incident can have several.",
    )


def _recurred(incidents: QuerySet[Incident], visible: QuerySet[Incident]) -> tuple[set, set]:
    """Ids of confirmed recurrences, and of those that came back while an action item filed
    for the earlier incident was still open at the moment the new one started."""
    links = list(
        Recurrence.objects.filter(
            incident__in=incidents, earlier__in=visible, decision=Recurrence.Decision.CONFIRMED
        ).values_list("incident_id", "incident__started_at", "earlier_id")
    )
    items = defaultdict(list)
    for incident_id, created, closed in ActionItem.objects.filter(
        incident_id__in={earlier for _, _, earlier in links}
    ).values_list("incident_id", "created_at", "closed_at"):
        items[incident_id].append((created, closed))
    while_open = {
        incident
        for incident, started, earlier in links
        if any(c < started and (done is None or done > started) for c, done in items[earlier])
    }
    return {incident for incident, _, _ in links}, while_open


def recurrences(incidents: QuerySet[Incident], visible: QuerySet[Incident]) -> Figure:
    recurred, while_open = _recurred(incidents, visible)
    return Figure(
        "recurrence",
        "Incidents that happened again",
        ["Recurrences", "Incidents"],
        [
            Row("Confirmed as seen before", [len(recurred)], "recurred:all"),
            Row(
                "Recurred while an action item for it was still open",
                [len(while_open)],
                "recurred:open",
            ),
        ],
    )


def all_figures(user, period: Period, trend: list[Period], *, now, **scope) -> list[Figure]:
    incidents = scoped(user, **scope)
    selected = in_period(incidents, period)
    return [
        by_severity(selected),
        by_service(selected),
        time_to(incidents, trend),
        on_time(selected, now),
        action_items(selected, now.date()),
        causes(incidents, trend),
        recurrences(selected, visible_incidents(user)),
    ]


def incidents_behind(
    incidents: QuerySet[Incident], bar: str, *, now, visible: QuerySet[Incident]
) -> QuerySet[Incident]:
    """The incidents counted in one row of a figure, named by the row's `bar`."""
    kind, _, value = bar.partition(":")
    today = now.date()
    if kind == "severity" and value.isdigit():
        return incidents.filter(severity__level=int(value))
    if kind == "service":
        return (
            incidents.filter(services__isnull=True)
            if value == "-"
            else incidents.filter(services__slug=value)
        )
    if kind == "measured":
        metric = next((m for m in METRICS if m.key == value), None)
        if metric:
            return incidents.filter(
                **{f"{metric.start}_at__isnull": False, f"{metric.end}_at__isnull": False}
            )
    if kind == "pm":
        pms = incidents.filter(postmortem__due_at__isnull=False).annotate(
            first_published=Min("postmortem__publications__published_at")
        )
        conditions = {
            "on-time": Q(first_published__lte=F("postmortem__due_at")),
            "late": Q(first_published__gt=F("postmortem__due_at")),
            "overdue": Q(first_published__isnull=True, postmortem__due_at__lt=now),
            "not-due": Q(first_published__isnull=True, postmortem__due_at__gte=now),
        }
        if value in conditions:
            return pms.filter(conditions[value])
    if kind == "items":
        items = ActionItem.objects.all()
        filters = {
            "all": Q(),
            "closed": Q(status__in=ActionItem.CLOSED_STATUSES),
            "open": Q(status__in=ActionItem.OPEN_STATUSES),
            "wont_do": Q(status=ActionItem.Status.WONT_DO),
            "worth_no": Q(status=ActionItem.Status.DONE, worth_it=ActionItem.WorthIt.NO),
        }
        for low, high, _ in AGEING:
            late = Q(status__in=ActionItem.OPEN_STATUSES, due_date__lte=today - timedelta(low))
            if high is not None:
                late &= Q(due_date__gte=today - timedelta(high))
            filters[f"overdue_{low}"] = late
        if value in filters:
            return incidents.filter(pk__in=items.filter(filters[value]).values("incident_id"))
    if kind == "category":
        if value == "-":
            causes_ = Cause.objects.filter(category__isnull=True)
        elif value.isdigit():
            causes_ = Cause.objects.filter(category_id=int(value))
        else:
            return incidents.none()
        return incidents.filter(pk__in=causes_.values("postmortem__incident_id"))
    if kind == "recurred" and value in ("all", "open"):
        recurred, while_open = _recurred(incidents, visible)
        return incidents.filter(pk__in=recurred if value == "all" else while_open)
    return incidents.none()
