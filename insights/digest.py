"""The quarterly review e-mailed to each team lead: the insights figures for their team.

It leaves through the delivery engine like every other message:
1. `send_quarterly_digests` claims each (team, quarter) with a unique `QuarterlyDigest` row and
   queues one e-mail `Delivery` for it in the same transaction, so a second run, or a second
   beat, queues nothing, and a run that fails midway leaves neither.
2. The engine sends it when a worker (or the periodic sweep) picks it up: `compose` computes
   the quarter's figures for the team as the lead reads them (`insights.figures`, through the
   policy), so a private incident counts only if the lead may see it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from incidents.models import Team
from insights import periods
from insights.figures import all_figures
from insights.models import QuarterlyDigest
from kernel import delivery as engine
from kernel.channels import ChannelError
from kernel.models import Delivery

logger = logging.getLogger(__name__)
DEVELOPMENT_BASE_URL = "http://localhost:8000"
TOPIC = "quarterly-review"


@dataclass
class Digest:
    team: Team
    period: periods.Period
    recipient: str


def _link(team: Team, period: periods.Period) -> str:
    base = (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/")
    query = urlencode({"period": "quarter", "on": period.start.isoformat(), "team": team.pk})
    return f"{base}{reverse('insights')}?{query}"


def quarterly_digests(today: date) -> list[Digest]:
    """One digest per team with an active lead who has an address, for the quarter before."""
    period = periods.quarter_of(today, -1)
    teams = Team.objects.select_related("lead").filter(lead__isnull=False, lead__is_active=True)
    return [Digest(team, period, team.lead.email) for team in teams.exclude(lead__email="")]


def review_message(team: Team, lead, period_start: date, *, now=None) -> engine.Message:
    """The review of the quarter starting on `period_start`, computed as `lead` reads it."""
    trend = periods.trend("quarter", period_start)
    period = trend[-1]
    figures = all_figures(lead, period, trend, now=now or timezone.now(), team=team)
    context = {"team": team, "lead": lead, "period": period, "figures": figures,
               "link": _link(team, period)}  # fmt: skip
    incidents = sum(row.values[0] for row in figures[0].rows)
    return engine.Message(
        subject=f"{period.label} review for {team.name}: {incidents} incidents",
        text=render_to_string("insights/digest_email.txt", context),
        data={"team": team.slug, "quarter": period.label, "incidents": incidents},
    )


def send_quarterly_digests(today: date | None = None, *, dry_run: bool = False) -> list[Digest]:
    """Queue each digest not yet sent for its quarter; returns those queued (or that would be)."""
    today = today or timezone.localdate()
    queued = []
    for digest in quarterly_digests(today):
        claimed = QuarterlyDigest.objects.filter(
            team=digest.team, period_start=digest.period.start
        ).exists()
        if claimed:
            continue
        if dry_run:
            queued.append(digest)
            continue
        try:
            with transaction.atomic():
                row = QuarterlyDigest.objects.create(
                    team=digest.team,
                    lead=digest.team.lead,
                    period_start=digest.period.start,
                    recipient=digest.recipient,
                )
                engine.queue(
                    [
                        Delivery(
                            topic=TOPIC,
                            subject_id=row.pk,
                            channel="email",
                            address={"to": [digest.recipient]},
                        )
                    ]
                )
        except IntegrityError:
            continue  # another run got there first
        queued.append(digest)
        logger.info("Queued the %s review for the lead of %s", digest.period.label, digest.team)
    return queued


def _compose(delivery: Delivery, digests: dict[int, QuarterlyDigest]) -> engine.Message:
    digest = digests.get(delivery.subject_id)
    if digest is None:
        raise ChannelError("the review no longer exists", retryable=False)
    if digest.lead is None or not digest.lead.is_active:
        raise ChannelError("the lead it was for has left", retryable=False)
    return review_message(digest.team, digest.lead, digest.period_start)


REVIEW_TOPIC = engine.Topic(
    name=TOPIC,
    label="Quarterly review for a team lead",
    compose=_compose,
    prepare=lambda deliveries: QuarterlyDigest.objects.select_related("team", "lead").in_bulk(
        {d.subject_id for d in deliveries}
    ),
)
