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

from django.db.models import F, Min, Q, QuerySet

from actions.models import ActionItem
from incidents.milestones import METRICS
from incidents.models import Incident
from incidents.policy import visible_incidents
from insights.models import Recurrence
from insights.periods import Period
from postmortems.models import Cause, CauseCategory
from postmortems.templatetags.document import duration

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
    counts = Counter(incidents.values_list("severity__level", flat=True))
    rows = [Row(f"SEV{level}", [n], f"severity:{level}") for level, n in sorted(counts.items())]
    return Figure("severity", "Incidents by severity", ["Severity", "Incidents"], rows)


def by_service(incidents: QuerySet[Incident]) -> Figure:
    pairs = Counter(incidents.values_list("services__slug", "services__name"))
    rows = [
        Row(name or "No service named", [n], f"service:{slug or '-'}")
        for (slug, name), n in pairs.most_common(12)
    ]
    return Figure("service", "Incidents by service", ["Service", "Incidents"], rows)


def _milestone_rows(incidents: QuerySet[Incident]) -> list[dict]:
    fields = ("started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at")
    return list(incidents.values(*fields))


def _metric_values(rows: list[dict], metric) -> list[timedelta]:
    values = []
    for row in rows:
        start, end = row[f"{metric.start}_at"], row[f"{metric.end}_at"]
        if start and end:
            values.append(end - start)
    return values


def time_to(incidents: QuerySet[Incident], trend: list[Period]) -> Figure:
    """Median and p90 of each time-to metric in the selected period, and its median before."""
    by_period = {p: _milestone_rows(in_period(incidents, p)) for p in trend}
    selected = by_period[trend[-1]]
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
        values = _metric_values(selected, metric)
        earlier = [duration(median(_metric_values(by_period[p], metric))) for p in trend[:-1]]
        figure.rows.append(
            Row(
                metric.label,
                [duration(median(values)), duration(p90(values)), len(values), *earlier],
                f"measured:{metric.key}",
            )
        )
    return figure


def on_time(incidents: QuerySet[Incident], now) -> Figure:
    rows = incidents.filter(postmortem__due_at__isnull=False).annotate(
        first_published=Min("postmortem__publications__published_at")
    )
    counts = Counter()
    for due, published in rows.values_list("postmortem__due_at", "first_published"):
        if published is not None:
            counts["on-time" if published <= due else "late"] += 1
        else:
            counts["overdue" if due < now else "not-due"] += 1
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


def action_items(incidents: QuerySet[Incident], today: date) -> Figure:
    items = list(
        ActionItem.objects.filter(incident__in=incidents).values_list(
            "status", "created_at", "closed_at", "due_date", "worth_it"
        )
    )
    closed = [i for i in items if i[0] in ActionItem.CLOSED_STATUSES]
    done = [i for i in closed if i[0] == ActionItem.Status.DONE]
    wont = len(closed) - len(done)
    answered = [i[4] for i in done if i[4]]
    said_no = answered.count(ActionItem.WorthIt.NO)
    to_close = [i[2] - i[1] for i in closed if i[2]]
    open_items = [i for i in items if i[0] in ActionItem.OPEN_STATUSES]
    rows = [
        Row("Opened", [len(items), ""], "items:all"),
        Row("Closed (done or won't do)", [len(closed), ""], "items:closed"),
        Row("Still open", [len(open_items), ""], "items:open"),
        Row("Median time to close", ["", duration(median(to_close))]),
        Row("Won't do, of those closed", [wont, _rate(wont, len(closed))], "items:wont_do"),
        Row(
            'Answered "was it worth it?" with no',
            [said_no, f"{_rate(said_no, len(answered))} of {len(answered)} answers"],
            "items:worth_no",
        ),
    ]
    for low, high, label in AGEING:
        late = [
            i
            for i in open_items
            if i[3] and (today - i[3]).days >= low and (high is None or (today - i[3]).days <= high)
        ]
        rows.append(Row(f"Overdue {label}", [len(late), ""], f"items:overdue_{low}"))
    return Figure(
        "actions",
        "Action items filed for these incidents",
        ["Action items", "Count", "Rate or time"],
        rows,
        note="The worth-it answer is asked when an item is closed as done; "
        "a high share of no means the reviews file the wrong fixes.",
    )


def _category_counts(incidents: QuerySet[Incident]) -> Counter:
    causes = Cause.objects.filter(postmortem__incident__in=incidents)
    return Counter(causes.values_list("category_id", flat=True))


def causes(incidents: QuerySet[Incident], trend: list[Period]) -> Figure:
    names = dict(CauseCategory.objects.values_list("id", "name"))
    counts = {p: _category_counts(in_period(incidents, p)) for p in trend}
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
        ["Category", "Causes"] + [p.label for p in trend[:-1]],
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
