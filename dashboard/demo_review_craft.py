"""The demo of the review's craft on the payment outage: every cause covered or not, an
accepted risk, impact and effort, evidence on done, and a re-check that has come due.

Called by `seed_demo`; does nothing when it has run before (the accepted risk is its mark).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from actions.models import ActionItem
from incidents.models import Incident
from kernel.blocks import save_with_history
from postmortems.models import AcceptedRisk, Cause

OUTAGE_TITLE = "Payment service outage: database connections exhausted"
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


def seed_review_craft(people: dict, now) -> None:
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
        revisit_on=today + timedelta(days=90),
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
