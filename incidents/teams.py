"""A team's members and settings, changed by its lead or an admin from the team page."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from incidents.audit import Action, audit
from incidents.models import Team

SETTINGS_FIELDS = ("nag_every_days", "nag_escalate_after", "slack_webhook_url")


def team_update(*, team: Team, members, settings: dict, user) -> None:
    """Save a team's members and settings, auditing each change. (Open pages of the team's
    private incidents hear of a membership change through postmortems.access_events.)"""
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = set(team.members.values_list("pk", flat=True))
        after = {member.pk for member in members}
        changed = [name for name in SETTINGS_FIELDS if getattr(team, name) != settings[name]]
        for name in changed:
            setattr(team, name, settings[name])
        team._history_user = user
        team.full_clean()
        team.save()
        if before != after:
            team.members.set(members)
            added = sorted(m.get_username() for m in members if m.pk not in before)
            removed = sorted(
                get_user_model()
                .objects.filter(pk__in=before - after)
                .values_list("username", flat=True)
            )
            parts = [f"added {', '.join(added)}"] if added else []
            parts += [f"removed {', '.join(removed)}"] if removed else []
            audit(user, Action.MEMBERSHIP_CHANGED, team, "; ".join(parts).capitalize() + ".")
        if changed:
            # The webhook URL is a secret: say that it changed, never what it is.
            labels = [str(Team._meta.get_field(name).verbose_name) for name in changed]
            audit(user, Action.TEAM_SETTINGS_CHANGED, team, f"Changed: {', '.join(labels)}.")
