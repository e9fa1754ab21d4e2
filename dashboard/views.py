from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from actions.models import ActionItem
from incidents.forms import AuditFilterForm, IncidentCreateForm, IncidentFilterForm, TeamForm
from incidents.models import AuditEntry, Incident, Team
from incidents.opening import incident_open
from incidents.policy import (
    can_manage_team,
    can_open_incident,
    can_see_audit_log,
    visible_action_items,
    visible_incidents,
    visible_team_records,
)
from incidents.teams import SETTINGS_FIELDS, team_update
from postmortems.models import Postmortem
from premortems.models import Premortem

INCIDENTS_PER_PAGE = 25


@require_GET
def dashboard(request):
    now = timezone.now()
    visible = visible_incidents(request.user)
    active = list(
        visible.filter(status__in=Incident.ACTIVE_STATUSES)
        .select_related("severity", "owner")
        .order_by("severity__level", "-started_at")
    )
    overdue_postmortems = list(
        Postmortem.objects.filter(
            status=Postmortem.Status.DRAFT, due_at__lt=now, incident__in=visible
        )
        .select_related("incident__severity", "incident__owner")
        .order_by("due_at")
    )
    my_actions = list(
        visible_action_items(
            request.user,
            ActionItem.objects.filter(owner=request.user, status__in=ActionItem.OPEN_STATUSES),
        )
        .select_related("incident", "premortem")
        .order_by("due_date", "id")
    )
    return render(
        request,
        "incidents/dashboard.html",
        {
            "active": active,
            "overdue_postmortems": overdue_postmortems,
            "my_actions": my_actions,
            "premortems": list(
                visible_team_records(request.user, Premortem.objects.select_related("team"))
                .exclude(phase=Premortem.Phase.DONE)
                .order_by("planned_for")[:10]
            ),
            "today": timezone.localdate(),
            "open_form": IncidentCreateForm(auto_id="quick-open-%s", label_suffix=""),
            "can_open_incident": can_open_incident(request.user),
        },
    )


@require_GET
@vary_on_headers("HX-Request")
def incident_list(request):
    filters = IncidentFilterForm(request.GET or None)
    incidents = filters.filter(
        visible_incidents(request.user)
        .select_related("severity", "owner", "team", "postmortem")
        .prefetch_related("services")
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
    if not can_open_incident(request.user):
        raise PermissionDenied("A read-only account cannot open incidents.")
    form = IncidentCreateForm(request.POST or None, initial={"started_at": timezone.now()})
    form.fields["title"].widget.attrs["autofocus"] = True
    if request.method == "POST" and form.is_valid():
        incident = form.save(commit=False)
        # Whoever opens it commands it, unless they named someone else.
        incident.owner = form.cleaned_data["owner"] or request.user
        incident_open(
            incident=incident,
            services=form.cleaned_data["services"],
            responders=list({request.user, incident.owner}),
            user=request.user,
        )
        return redirect("incident-active", ref=incident.ref)
    status = 422 if request.method == "POST" else 200
    return render(request, "incidents/incident_new.html", {"form": form}, status=status)


# Teams -------------------------------------------------------------------------------------


@require_GET
def team_list(request):
    teams = list(Team.objects.select_related("lead").annotate(member_count=Count("members")))
    return render(request, "incidents/team_list.html", {"teams": teams})


@require_http_methods(["GET", "POST"])
def team_detail(request, slug: str):
    """A team's page: everyone reads who is in it; its lead and admins change it."""
    team = get_object_or_404(Team.objects.select_related("lead"), slug=slug)
    may_manage = can_manage_team(request.user, team)
    form = TeamForm(request.POST if request.method == "POST" else None, instance=team)
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(
                "Only the team's lead and admins change its members and settings."
            )
        if form.is_valid():
            data = form.cleaned_data
            team_update(
                team=team,
                members=list(data["members"]),
                settings={name: data[name] for name in SETTINGS_FIELDS},
                user=request.user,
            )
            messages.success(request, f"{team} is saved.")
            return redirect("team", slug=team.slug)
    members = list(team.members.order_by("first_name", "username"))
    status = 422 if form.is_bound and form.errors else 200
    context = {"team": team, "form": form, "members": members, "may_manage": may_manage}
    return render(request, "incidents/team.html", context, status=status)


# The audit log -----------------------------------------------------------------------------

AUDIT_PER_PAGE = 50


@require_GET
def audit_log(request):
    if not can_see_audit_log(request.user):
        raise PermissionDenied("The audit log is for admins.")
    filters = AuditFilterForm(request.GET or None)
    entries = AuditEntry.objects.select_related("actor")
    if filters.is_valid() and filters.cleaned_data["action"]:
        entries = entries.filter(action=filters.cleaned_data["action"])
    page = Paginator(entries, AUDIT_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "query": query.urlencode()}
    return render(request, "incidents/audit_log.html", context)
