"""The demo of the review's craft on the payment outage: every cause covered or not, an
accepted risk, impact and effort, evidence on done, and a re-check that has come due.

Called by `seed_demo`; does nothing when it has run before (the accepted risk is its mark).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident, Severity, TimelineEntry
from incidents.opening import incident_open
from kernel.blocks import save_with_history
from postmortems.models import AcceptedRisk, Cause, PostmortemRequest

OUTAGE_TITLE = "Payment service outage: database connections exhausted"
NEAR_MISS_TITLE = "Expiring TLS certificate caught by the staging smoke test"
# Item title prefix → (impact, effort).
RATINGS = {
    "Revert to pooled connections": ("high", "low"),
    "Alert when connection usage": ("high", "low"),
    "Add a connection-leak scenario": ("high", "high"),
    "Lengthen the canary stage": ("high", "low"),
    "Give on-call read access": ("low", "low"),
    "Rewrite the repository layer": ("low", "high"),
}


def _cause(postmortem, user, statement: str, position: int) -> Cause:
    cause = Cause(
        postmortem=postmortem, statement=statement, kind=Cause.Kind.CONTRIBUTING, position=position
    )
    save_with_history(cause, user)
    return cause


def seed_near_miss(people: dict, now) -> None:
    """A near miss nobody outside noticed, and someone asking for its postmortem."""
    if Incident.objects.filter(title=NEAR_MISS_TITLE).exists():
        return
    start = now - timedelta(days=3, hours=2)
    lena, sam = people["lena"], people["sam"]
    incident = incident_open(
        incident=Incident(
            title=NEAR_MISS_TITLE,
            severity=Severity.objects.get(level=3),
            owner=lena,
            team=lena.led_teams.first(),
            near_miss=True,
            started_at=start,
            detected_at=start + timedelta(minutes=2),
            resolved_at=start + timedelta(hours=1),
            status=Incident.Status.RESOLVED,
        ),
        responders=[lena],
        user=lena,
    )
    entry = TimelineEntry(
        incident=incident,
        occurred_at=start + timedelta(hours=1),
        kind=TimelineEntry.Kind.RESOLUTION,
        text="Certificate renewed by hand; production never served the expiring one.",
        added_by=lena,
    )
    save_with_history(entry, lena)
    PostmortemRequest.objects.create(
        postmortem=incident.postmortem,
        requested_by=sam,
        reason="The renewal job has failed silently before. Nobody would have known without "
        "the smoke test: worth a short review while it is fresh.",
    )


def seed_review_craft(people: dict, now) -> None:
    seed_near_miss(people, now)
    incident = Incident.objects.filter(title=OUTAGE_TITLE).select_related("postmortem").first()
    if incident is None:
        return
    postmortem = incident.postmortem
    if AcceptedRisk.objects.filter(cause__postmortem=postmortem).exists():
        return
    today = timezone.localdate()
    priya, lena = people["priya"], people["lena"]

    canary = _cause(
        postmortem, priya, "The canary stage was too short to see the connection count climb.", 1
    )
    network = _cause(
        postmortem,
        priya,
        "The card network answered slowly for two minutes during the outage, which made the "
        "retries pile up.",
        2,
    )
    # Left uncovered on purpose: the document and the publish checklist both name it.
    _cause(
        postmortem,
        priya,
        "On-call could not read the database metrics without asking the Platform team.",
        3,
    )
    risk = AcceptedRisk(
        cause=network,
        accepted_by=lena,
        reason="The card network's slow minutes are rare (twice a year) and outside our "
        "control; a second acquirer costs more than the orders lost. Look again if it happens "
        "twice in a quarter.",
        # Accepted three weeks ago for a month: it comes back to this week's review.
        revisit_on=today + timedelta(days=5),
    )
    save_with_history(risk, lena)

    for item in incident.action_items.all():
        for prefix, (impact, effort) in RATINGS.items():
            if item.title.startswith(prefix):
                item.impact, item.effort = impact, effort
        if item.title.startswith("Lengthen the canary stage"):
            item.cause = canary
        if item.status == ActionItem.Status.DONE:
            # Re-check due since yesterday: it waits in the weekly review and the digest.
            item.recheck_on = today - timedelta(days=1)
        save_with_history(item, priya)
