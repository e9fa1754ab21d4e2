"""The quarterly review e-mailed to each team lead: the insights figures for their team.

A plain function builds one message per lead; `send_quarterly_digests` claims each (team,
quarter) with a unique row before sending, so a second run, or a second beat, sends nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from incidents.models import Team
from insights import periods
from insights.figures import all_figures
from insights.models import QuarterlyDigest

logger = logging.getLogger(__name__)
DEVELOPMENT_BASE_URL = "http://localhost:8000"


@dataclass
class Digest:
    team: Team
    period: periods.Period
    message: EmailMessage


def _link(team: Team, period: periods.Period) -> str:
    base = (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/")
    query = urlencode({"period": "quarter", "on": period.start.isoformat(), "team": team.pk})
    return f"{base}{reverse('insights')}?{query}"


def quarterly_digests(today: date) -> list[Digest]:
    """One message per team with a lead who has an address, for the quarter before `today`."""
    trend = periods.trend("quarter", periods.quarter_of(today, -1).start)
    period = trend[-1]
    now = timezone.now()
    digests = []
    for team in (
        Team.objects.select_related("lead").filter(lead__isnull=False).exclude(lead__email="")
    ):
        # Read as the lead: they get exactly the figures their page would show them.
        figures = all_figures(team.lead, period, trend, now=now, team=team)
        context = {"team": team, "period": period, "figures": figures, "link": _link(team, period)}
        incidents = sum(row.values[0] for row in figures[0].rows)
        message = EmailMessage(
            subject=f"{period.label} review for {team.name}: {incidents} incidents",
            body=render_to_string("insights/digest_email.txt", context),
            to=[team.lead.email],
        )
        digests.append(Digest(team, period, message))
    return digests


def send_quarterly_digests(today: date | None = None, *, dry_run: bool = False) -> list[Digest]:
    """Send each digest not yet sent for its quarter; returns those sent (or that would be)."""
    today = today or timezone.localdate()
    sent = []
    for digest in quarterly_digests(today):
        if dry_run:
            if not QuarterlyDigest.objects.filter(
                team=digest.team, period_start=digest.period.start
            ).exists():
                sent.append(digest)
            continue
        try:
            with transaction.atomic():
                QuarterlyDigest.objects.create(
                    team=digest.team,
                    period_start=digest.period.start,
                    recipient=digest.message.to[0],
                )
                # Sent inside the claim: if sending fails the claim rolls back and a retry
                # sends it; if it succeeds and the commit then fails, the lead gets it twice,
                # which beats never.
                digest.message.send()
        except IntegrityError:
            continue  # another run got there first
        sent.append(digest)
        logger.info("Sent the %s review to the lead of %s", digest.period.label, digest.team)
    return sent
