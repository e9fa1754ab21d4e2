"""A team's outbound webhooks, managed by its lead: add, test, remove, and what was sent."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from incidents.forms import TeamWebhookForm
from incidents.models import Team, TeamWebhook
from incidents.policy import can_manage_team
from incidents.webhooks import CHANNEL, new_secret, webhook_ping
from kernel.models import Delivery

RECENT_DELIVERIES = 20


def _managed_team(request, slug: str) -> Team:
    team = get_object_or_404(Team, slug=slug)
    if not can_manage_team(request.user, team):
        raise PermissionDenied("Only the team's lead or an admin manages its webhooks.")
    return team


@never_cache  # the page that shows a new secret must not be kept by any cache
@require_http_methods(["GET", "POST"])
def team_webhooks(request, team: str):
    team_ = _managed_team(request, team)
    form = TeamWebhookForm(request.POST or None, instance=TeamWebhook(team=team_))
    created = None
    if request.method == "POST" and form.is_valid():
        hook = form.save(commit=False)
        hook.secret = new_secret()
        hook.created_by = request.user
        hook.save()
        # Shown on this response only: the page says so, and it is never shown again.
        created, form = hook, TeamWebhookForm(instance=TeamWebhook(team=team_))
    hooks = list(team_.webhooks.all())
    deliveries = list(
        Delivery.objects.filter(
            channel=CHANNEL, address__webhook__in=[h.pk for h in hooks]
        ).order_by("-id")[:RECENT_DELIVERIES]
    )
    status = 422 if request.method == "POST" and created is None else 200
    return render(
        request,
        "incidents/team_webhooks.html",
        {"team": team_, "form": form, "hooks": hooks, "created": created, "deliveries": deliveries},
        status=status,
    )


def _hook(request, team: str, hook_id: int) -> TeamWebhook:
    team_ = _managed_team(request, team)
    return get_object_or_404(TeamWebhook, pk=hook_id, team=team_)


@require_POST
def team_webhook_test(request, team: str, hook_id: int):
    hook = _hook(request, team, hook_id)
    if not hook.active:
        messages.error(request, "Switch the webhook on before sending it a test event.")
    else:
        webhook_ping(hook)
        messages.success(request, f"A test event is on its way to {hook.host}.")
    return redirect("team-webhooks", team=team)


@require_POST
def team_webhook_switch(request, team: str, hook_id: int):
    hook = _hook(request, team, hook_id)
    hook.active = not hook.active
    hook.save(update_fields=["active"])
    state = "on" if hook.active else "off"
    messages.success(request, f"The webhook to {hook.host} is switched {state}.")
    return redirect("team-webhooks", team=team)


@require_POST
def team_webhook_delete(request, team: str, hook_id: int):
    hook = _hook(request, team, hook_id)
    host = hook.host
    hook.delete()
    messages.success(request, f"The webhook to {host} is removed; nothing more is sent to it.")
    return redirect("team-webhooks", team=team)
