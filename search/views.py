from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from incidents.forms import IncidentFilterForm
from incidents.models import Incident
from insights.forms import materialise_choices
from kernel.widgets import IsoDateField
from search.queries import MAX_PAGE, search

# The incident list's filters that narrow the incidents searched (the words are not one).
LIST_FILTERS = ("severity", "status", "team", "service", "kind")


def day_start(day: date | None) -> datetime | None:
    """The start of `day` in the reader's zone; None (no bound) for a day out of range."""
    if day is None:
        return None
    try:
        start = timezone.make_aware(datetime.combine(day, time.min))
        start.astimezone(UTC)  # year 1 east of Greenwich is before the first day there is
    except (OverflowError, ValueError):
        return None
    return start


class SearchForm(IncidentFilterForm):
    """The incident list's filters, with the words searched across everything written."""

    since = IsoDateField(label="Started from", required=False)
    until = IsoDateField(label="Started until (inclusive)", required=False)
    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Search everything written"
        materialise_choices(self, ("severity", "team", "service"))

    def clean_q(self) -> str:
        # Line breaks and other control characters only ever arrive pasted: read as spaces.
        q = self.cleaned_data["q"]
        return " ".join("".join(c if c.isprintable() else " " for c in q).split())

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "Pick a day on or after the first one.")
        return data

    def has_list_filters(self) -> bool:
        return any(self.cleaned_data.get(name) for name in LIST_FILTERS)

    def within(self):
        """The incidents the list's filters leave, or None when none is set."""
        if not self.has_list_filters():
            return None
        q = self.cleaned_data["q"]
        self.cleaned_data["q"] = ""  # the words go to the search, not to a title match
        try:
            return self.filter(Incident.objects.all())
        finally:
            self.cleaned_data["q"] = q

    def span(self) -> tuple[datetime | None, datetime | None]:
        since, until = self.cleaned_data.get("since"), self.cleaned_data.get("until")
        try:
            after = until + timedelta(days=1) if until else None
        except OverflowError:
            after = None  # the last day there is: no upper bound
        return day_start(since), day_start(after)


@require_GET
def search_page(request):
    form = SearchForm(request.GET or None)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        since, until = form.span()
        results = search(
            request.user,
            form.cleaned_data["q"],
            page=form.cleaned_data["page"] or 1,
            within=form.within(),
            since=since,
            until=until,
        )
    query = request.GET.copy()
    query.pop("page", None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "search/search.html",
        {"form": form, "results": results, "query": query.urlencode(), "max_page": MAX_PAGE},
        status=status,
    )
