from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone

from incidents.models import Service, Severity, Team
from insights import periods
from kernel.widgets import IsoDateField

FIRST_YEAR, LAST_YEAR = 1970, 2999  # the trend reaches a year back; keep clear of date's ends
MAX_CUSTOM_DAYS = 3 * 366


class InsightsFilterForm(forms.Form):
    period = forms.ChoiceField(
        choices=[("quarter", "Quarter"), ("month", "Month"), ("custom", "Dates I choose")],
        required=False,
    )
    on = IsoDateField(
        label="Any day in the period", required=False, help_text="For a month or a quarter."
    )
    start = IsoDateField(label="From", required=False)
    end = IsoDateField(label="To (inclusive)", required=False)
    team = forms.ModelChoiceField(Team.objects.all(), required=False, empty_label="Any team")
    service = forms.ModelChoiceField(
        Service.objects.all(), required=False, empty_label="Any service"
    )
    severity = forms.ModelChoiceField(
        Severity.objects.all(), required=False, empty_label="Any severity"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        materialise_choices(self, ("team", "service", "severity"))

    def clean(self):
        data = super().clean()
        for name in ("on", "start", "end"):
            value = data.get(name)
            if value and not FIRST_YEAR <= value.year <= LAST_YEAR:
                self.add_error(name, f"Pick a date between {FIRST_YEAR} and {LAST_YEAR}.")
        if data.get("period") == "custom" and not self.errors:
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                self.add_error("start", "Dates I choose needs both a start and an end.")
            elif end < start:
                self.add_error("end", "The end comes before the start.")
            elif (end - start).days > MAX_CUSTOM_DAYS:
                self.add_error("end", "Pick at most three years at a time.")
        return data

    def kind(self) -> str:
        return (self.is_valid() and self.cleaned_data.get("period")) or "quarter"

    def scope(self) -> dict:
        if not self.is_valid():
            return {}
        return {k: self.cleaned_data[k] for k in ("team", "service", "severity")}

    def trend(self) -> list[periods.Period]:
        """The selected period last, the ones before it first; this quarter when unsure."""
        today = timezone.localdate()
        if not self.is_valid():
            return periods.trend("quarter", today)
        data, kind = self.cleaned_data, self.kind()
        if kind == "custom":
            return periods.trend("custom", data["start"], data["end"])
        return periods.trend(kind, data.get("on") or today)

    def shifted(self, period: periods.Period, direction: int) -> dict:
        """The query for the period just before or after the selected one."""
        query = {k: v for k, v in self.data.items() if k not in ("on", "start", "end")}
        kind = self.kind()
        if kind == "custom":
            moved = periods.custom(period.start, _last_day(period), direction)
            query.update(start=moved.start.isoformat(), end=_last_day(moved).isoformat())
        else:
            moved = (periods.month_of if kind == "month" else periods.quarter_of)(
                period.start, direction
            )
            query.update(period=kind, on=moved.start.isoformat())
        return query


def materialise_choices(form: forms.Form, names) -> None:
    """Read each choice list in one plain query: a ModelChoiceField left to itself iterates
    with a server-side cursor, three extra round trips per list on PostgreSQL."""
    for name in names:
        field = form.fields[name]
        field.choices = [("", field.empty_label)] + [
            (obj.pk, str(obj)) for obj in field.queryset.all()
        ]


def _last_day(period: periods.Period) -> date:
    return date.fromordinal(period.end.toordinal() - 1)
