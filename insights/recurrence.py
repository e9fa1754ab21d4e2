"""Seen before: earlier incidents that share a service or a cause category with this one.

A candidate is any incident the reader may see that started in the configured window before
this one and shares a service or a cause category, plus any already confirmed. People confirm
or dismiss each; a dismissed one is not suggested again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident
from incidents.policy import visible_incidents
from insights.models import Recurrence
from postmortems.models import Cause

MAX_SHOWN = 8


@dataclass
class Candidate:
    incident: Incident
    shared_services: list[str]
    shared_categories: list[str]
    decision: str = ""
    open_items: list[ActionItem] = field(default_factory=list)
    overdue_items: list[ActionItem] = field(default_factory=list)
    wont_do_items: list[ActionItem] = field(default_factory=list)


def seen_before(incident: Incident, user, *, days: int | None = None) -> list[Candidate]:
    days = settings.HINDSIGHT_RECURRENCE_DAYS if days is None else days
    services = set(incident.services.values_list("pk", flat=True))
    categories = set(
        Cause.objects.filter(postmortem__incident=incident, category__isnull=False).values_list(
            "category_id", flat=True
        )
    )
    decisions = dict(
        Recurrence.objects.filter(incident=incident).values_list("earlier_id", "decision")
    )
    confirmed = [pk for pk, d in decisions.items() if d == Recurrence.Decision.CONFIRMED]
    window = Q(
        started_at__gte=incident.started_at - timedelta(days=days),
        started_at__lt=incident.started_at,
    ) & (Q(services__in=services) | Q(postmortem__causes__category__in=categories))
    candidates = (
        visible_incidents(user, Incident.objects.all())
        .filter(window | Q(pk__in=confirmed))
        .exclude(pk=incident.pk)
        .exclude(pk__in=[pk for pk, d in decisions.items() if d == Recurrence.Decision.DISMISSED])
        .distinct()
        .order_by("-started_at")
        .select_related("severity")
        .prefetch_related(
            "services",
            Prefetch("postmortem__causes", Cause.objects.select_related("category")),
            Prefetch("action_items", ActionItem.objects.order_by("due_date", "id")),
        )[:MAX_SHOWN]
    )
    today = timezone.localdate()
    shown = []
    for earlier in candidates:
        causes = list(earlier.postmortem.causes.all()) if hasattr(earlier, "postmortem") else []
        items = list(earlier.action_items.all())
        shown.append(
            Candidate(
                incident=earlier,
                shared_services=[s.name for s in earlier.services.all() if s.pk in services],
                shared_categories=sorted(
                    {c.category.name for c in causes if c.category_id in categories}
                ),
                decision=decisions.get(earlier.pk, ""),
                open_items=[i for i in items if i.is_open and not i.is_overdue(today)],
                overdue_items=[i for i in items if i.is_open and i.is_overdue(today)],
                wont_do_items=[i for i in items if i.status == ActionItem.Status.WONT_DO],
            )
        )
    return shown


def recurrence_decide(*, incident: Incident, earlier: Incident, decision: str, user) -> None:
    """Record (or with "" withdraw) a person's answer for this pair."""
    with transaction.atomic():
        if not decision:
            Recurrence.objects.filter(incident=incident, earlier=earlier).delete()
            return
        link, _ = Recurrence.objects.select_for_update().get_or_create(
            incident=incident,
            earlier=earlier,
            defaults={"decision": decision, "decided_by": user},
        )
        link.decision = decision
        link.decided_by = user
        link._history_user = user
        link.full_clean()
        link.save()
