"""Tickets: a team's tracker connection, one-click tickets, and the trackers' webhooks."""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from actions.models import ActionItem, TrackerConnection
from actions.ticket_forms import TrackerConnectionForm
from actions.tickets import ticket_change_receive, ticket_create
from incidents.models import Team
from incidents.policy import can_edit_action_item, can_manage_team, can_view_action_item
from incidents.webhooks import absolute, new_secret
from kernel.trackers import TrackerError, tracker

logger = logging.getLogger(__name__)


@require_POST
def ticket_new(request, pk: int):
    item = get_object_or_404(ActionItem.objects.select_related("incident", "premortem"), pk=pk)
    if not can_view_action_item(request.user, item):
        raise Http404("No such action item")
    if not can_edit_action_item(request.user, item):
        raise PermissionDenied("You may not change this action item.")
    try:
        ticket = ticket_create(item=item, user=request.user)
    except TrackerError as error:
        messages.error(request, f"No ticket was created: {error}")
    else:
        messages.success(request, f"Ticket {ticket.key} created and linked.")
    return redirect(item)


def _managed_team(request, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not can_manage_team(request.user, team):
        raise PermissionDenied("Only the team's lead or an admin connects its tracker.")
    return team


def webhook_url(connection: TrackerConnection) -> str:
    path = reverse("tracker-webhook", args=[connection.tracker, connection.team.slug])
    return absolute(path)


@never_cache  # the page that shows the webhook secret must not be kept by any cache
@require_http_methods(["GET", "POST"])
def team_tracker(request, team: str):
    team_ = _managed_team(request, team)
    connection = TrackerConnection.objects.filter(team=team_).first()
    instance = connection or TrackerConnection(team=team_, webhook_secret=new_secret())
    form = TrackerConnectionForm(request.POST or None, instance=instance)
    saved = False
    if request.method == "POST" and form.is_valid():
        if form.instance.pk is None:
            form.instance.created_by = request.user
        connection = form.save()
        saved = True
    # The secret is shown when the connection is made and when asked for again.
    show_secret = saved or (connection is not None and request.GET.get("show") == "secret")
    status = 422 if request.method == "POST" and not saved else 200
    return render(
        request,
        "actions/team_tracker.html",
        {
            "team": team_,
            "form": form,
            "connection": connection,
            "saved": saved,
            "show_secret": show_secret,
            "webhook_url": webhook_url(connection) if connection else "",
            "kind": tracker(connection.tracker) if connection else None,
        },
        status=status,
    )


@require_POST
def team_tracker_remove(request, team: str):
    team_ = _managed_team(request, team)
    TrackerConnection.objects.filter(team=team_).delete()
    messages.success(request, "The tracker is disconnected; tickets already made stay linked.")
    return redirect("team-tracker", team=team)


def _plausible(text: str, longest: int) -> bool:
    return 0 < len(text) <= longest and not any(ord(c) < 32 for c in text)


def _answer(status: int, words: str) -> JsonResponse:
    key = "result" if status < 400 else "error"
    return JsonResponse({key: words}, status=status)


@csrf_exempt  # the tracker proves itself by its signature, not a browser session
@login_not_required
@require_POST
def tracker_webhook(request, tracker_name: str, team: str):
    kind = tracker(tracker_name)
    connection = (
        TrackerConnection.objects.filter(tracker=tracker_name, team__slug=team)
        .select_related("team")
        .first()
    )
    if kind is None or connection is None:
        return _answer(404, "No such tracker connection.")
    body = request.body  # Django refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE with a 400
    if not kind.signature_valid(
        secret=connection.webhook_secret, headers=request.headers, query=request.GET, body=body
    ):
        logger.warning("A %s webhook call for team %s had no valid signature", kind.name, team)
        return _answer(401, "The signature or token does not match this connection's secret.")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, "The body is not JSON.")
    if not isinstance(payload, dict):
        return _answer(400, "The body is not a JSON object.")
    change = kind.change(payload, base_url=connection.base_url)
    if change is None:
        return _answer(200, "Nothing to do: not a ticket closed or reopened.")
    if not _plausible(change.key, 100) or not _plausible(change.url, 500):
        return _answer(422, "The ticket's key or address is not one Hindsight could have linked.")
    return _answer(200, ticket_change_receive(connection=connection, change=change))
