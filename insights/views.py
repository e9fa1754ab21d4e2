from __future__ import annotations

import csv

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from incidents.policy import can_edit, visible_incidents
from insights import cache
from insights.figures import in_period, incidents_behind, scoped
from insights.forms import InsightsFilterForm
from insights.models import Recurrence
from insights.recurrence import recurrence_decide, seen_before
from postmortems.document import incident_for

INCIDENTS_PER_PAGE = 50


def _filters(request) -> tuple[InsightsFilterForm, list, dict]:
    form = InsightsFilterForm(request.GET or None)
    return form, form.trend(), form.scope()


def _status(form: InsightsFilterForm) -> int:
    return 400 if form.is_bound and not form.is_valid() else 200


@require_GET
def insights(request):
    form, trend, scope = _filters(request)
    period = trend[-1]
    asked = None
    if _status(form) == 200:
        # What a refresh after the next save computes again for this reader (in this zone).
        asked = {name: request.GET[name][:100] for name in form.fields if name in request.GET}
    computed = cache.figures(request.user, period, trend, now=timezone.now(), asked=asked, **scope)
    query = request.GET.copy()
    return render(
        request,
        "insights/insights.html",
        {
            "form": form,
            "period": period,
            "figures": computed.figures,
            "figures_key": computed.key,
            "as_of": computed.as_of,
            "cache_seconds": int(cache.MAX_AGE.total_seconds()),
            "query": query.urlencode(),
            "earlier": urlencode(form.shifted(period, -1)),
            "later": urlencode(form.shifted(period, 1)),
        },
        status=_status(form),
    )


@require_GET
def figure_csv(request, key: str):
    form, trend, scope = _filters(request)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            "The filters are not valid: "
            + "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    period = trend[-1]
    figures = cache.figures(request.user, period, trend, now=timezone.now(), **scope).figures
    figure = next((f for f in figures if f.key == key), None)
    if figure is None:
        raise Http404("No such figure")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"hindsight-{figure.key}-{period.start:%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["Period", period.label])
    writer.writerow(figure.columns)
    for row in figure.rows:
        writer.writerow([_cell(row.label), *(_cell(v) for v in row.values)])
    return response


def _cell(value) -> object:
    """Keep a spreadsheet from reading a label someone typed as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_GET
def incidents_in_bar(request):
    form, trend, scope = _filters(request)
    period = trend[-1]
    bar = request.GET.get("bar", "")[:100]
    # Time-to and cause trends read the earlier periods too; the listing shows the selected one.
    incidents = incidents_behind(
        in_period(scoped(request.user, **scope), period),
        bar,
        now=timezone.now(),
        visible=visible_incidents(request.user),
    )
    page = Paginator(
        incidents.select_related("severity", "team").distinct().order_by("-started_at"),
        INCIDENTS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("bar", None)
    query.pop("page", None)
    return render(
        request,
        "insights/incidents.html",
        {"form": form, "period": period, "page": page, "bar": bar, "query": query.urlencode()},
        status=_status(form),
    )


def _visible_incident(user, ref: str):
    return incident_for(user, ref)


@require_GET
def recurrence(request, ref: str):
    return _seen_before(request, _visible_incident(request.user, ref))


def _seen_before(request, incident):
    template = "insights/seen_before.html"
    if request.htmx:
        template += "#seen-before"
    return render(
        request,
        template,
        {
            "incident": incident,
            "candidates": seen_before(incident, request.user),
            "can_edit": can_edit(request.user, incident),
        },
    )


@require_POST
def recurrence_decision(request, ref: str, earlier_ref: str):
    incident = _visible_incident(request.user, ref)
    earlier = _visible_incident(request.user, earlier_ref)
    if not can_edit(request.user, incident):
        raise PermissionDenied("You may read this incident but not change it.")
    decision = request.POST.get("decision", "")
    if decision not in {*Recurrence.Decision.values, ""} or earlier.pk == incident.pk:
        return HttpResponse("Choose confirm, dismiss or undo.", status=400)
    recurrence_decide(incident=incident, earlier=earlier, decision=decision, user=request.user)
    if request.htmx:
        return _seen_before(request, incident)
    return redirect(incident)
