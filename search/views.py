from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.views.decorators.http import require_GET

from incidents.forms import IncidentFilterForm
from incidents.models import Incident
from incidents.policy import visible_incidents
from insights.forms import materialise_choices
from search.queries import search

MAX_PAGE = 50


class SearchForm(IncidentFilterForm):
    """The incident list's filters, with the words searched across everything written."""

    page = forms.IntegerField(required=False, min_value=1, max_value=MAX_PAGE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Search everything written"
        materialise_choices(self, ("severity", "team", "service"))

    def clean_q(self) -> str:
        q = self.cleaned_data["q"].replace("\x00", "").strip()
        return q

    def filter(self, queryset):
        """The list's filters without its title match: the words go to the search."""
        if not self.is_valid():
            return queryset.none()
        q = self.cleaned_data["q"]
        self.cleaned_data["q"] = ""
        try:
            return super().filter(queryset)
        finally:
            self.cleaned_data["q"] = q


@require_GET
def search_page(request):
    form = SearchForm(request.GET or None)
    results = None
    if form.is_valid() and form.cleaned_data["q"]:
        incidents = form.filter(visible_incidents(request.user, Incident.objects.all()))
        results = search(incidents, form.cleaned_data["q"], form.cleaned_data["page"] or 1)
    query = request.GET.copy()
    query.pop("page", None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "search/search.html",
        {"form": form, "results": results, "query": query.urlencode(), "max_page": MAX_PAGE},
        status=status,
    )
