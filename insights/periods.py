"""Periods the insights are read over: a month, a quarter, or dates someone picks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

TREND_PERIODS = 4


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    label: str

    @property
    def start_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def end_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end, time.min))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_of(day: date, shift: int = 0) -> Period:
    start = _add_months(day.replace(day=1), shift)
    return Period(start, _add_months(start, 1), f"{start:%b %Y}")


def quarter_of(day: date, shift: int = 0) -> Period:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    start = _add_months(first, 3 * shift)
    return Period(start, _add_months(start, 3), f"Q{(start.month - 1) // 3 + 1} {start.year}")


def custom(start: date, end_inclusive: date, shift: int = 0) -> Period:
    length = (end_inclusive - start).days + 1
    first = start + timedelta(days=length * shift)
    last = first + timedelta(days=length - 1)
    return Period(first, last + timedelta(days=1), f"{first:%Y-%m-%d} to {last:%Y-%m-%d}")


def trend(kind: str, start: date, end_inclusive: date | None = None) -> list[Period]:
    """The selected period and the ones before it, oldest first, for the trend columns."""
    shifts = range(-(TREND_PERIODS - 1), 1)
    if kind == "month":
        return [month_of(start, s) for s in shifts]
    if kind == "quarter":
        return [quarter_of(start, s) for s in shifts]
    return [custom(start, end_inclusive, s) for s in shifts]
