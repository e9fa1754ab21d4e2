from __future__ import annotations

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from actions.models import ActionItem
from incidents.forms import IncidentCreateForm, IncidentFilterForm
from incidents.models import Incident
from incidents.opening import incident_open
from postmortems.models import Postmortem

INCIDENTS_PER_PAGE = 25


@require_GET
def dashboard(request):
    now = timezone.now()
    active = list(
        Incident.objects.filter(status__in=Incident.ACTIVE_STATUSES)
        .select_related("severity", "owner")
        .order_by("severity__level", "-started_at")
    )
    overdue_postmortems = list(
        Postmortem.objects.filter(status=Postmortem.Status.DRAFT, due_at__lt=now)
        .select_related("incident__severity", "incident__owner")
        .order_by("due_at")
    )
    my_actions = list(
        ActionItem.objects.filter(owner=request.user, status__in=ActionItem.OPEN_STATUSES)
        .select_related("incident")
        .order_by("due_date", "id")
    )
    return render(
        request,
        "incidents/dashboard.html",
        {
            "active": active,
            "overdue_postmortems": overdue_postmortems,
            "my_actions": my_actions,
            "today": timezone.localdate(),
        },
    )


@require_GET
@vary_on_headers("HX-Request")
def incident_list(request):
    filters = IncidentFilterForm(request.GET or None)
    incidents = filters.filter(
        Incident.objects.select_related("severity", "owner", "team", "postmortem").prefetch_related(
            "services"
        )
    )
    page = Paginator(incidents, INCIDENTS_PER_PAGE).get_page(request.GET.get("page"))
    # Near misses are counted apart: they are the cheap lessons, not outages.
    counts = incidents.order_by().aggregate(
        incidents=Count("pk", filter=Q(near_miss=False), distinct=True),
        near_misses=Count("pk", filter=Q(near_miss=True), distinct=True),
    )
    query = request.GET.copy()
    query.pop("page", None)
    template = "incidents/incident_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(
        request,
        template,
        {"filters": filters, "page": page, "query": query.urlencode(), "counts": counts},
    )


@require_http_methods(["GET", "POST"])
def incident_new(request):
    form = IncidentCreateForm(request.POST or None, initial={"started_at": timezone.now()})
    if request.method == "POST" and form.is_valid():
        incident = form.save(commit=False)
        incident.owner = request.user
        incident_open(
            incident=incident,
            services=form.cleaned_data["services"],
            responders=[request.user],
            user=request.user,
        )
        return redirect(incident)
    status = 422 if request.method == "POST" else 200
    return render(request, "incidents/incident_new.html", {"form": form}, status=status)
