"""A year of smaller incidents for the demo, so the insights page has a story to tell.

The story, quarter by quarter (oldest first): deploys without canaries cause most incidents in
the first half; the database runs out of capacity in the summer; detection gaps make
incidents slow to notice until the alerting work lands, after which time to detect falls by
more than half; postmortems get written on time more often; one fix in five turns out not
worth it; and the search index lag comes back while its fix is still open.

Safe to run again: each incident is found by its title first. Uses the people, teams and
services seed_demo makes.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.serializers.json import DjangoJSONEncoder

from actions.models import ActionItem
from incidents.models import Incident, Service, Severity, Team, TimelineEntry
from incidents.opening import incident_open
from insights.cache import bump
from insights.models import Recurrence
from postmortems.models import Cause, CauseCategory, Postmortem, Publication, Why
from postmortems.publishing.reader import reader_document

MARK = "·"  # titles end with "· Y<n>", so a re-run finds them

# (category, service, title, cause, fix) by what the year was about.
STORIES = {
    "Change or deploy": [
        ("checkout-api", "Checkout 500s after a release", "A release changed the order payload "
         "without a canary", "Route 5% of traffic through a canary first"),
        ("payment-service", "Card payments declined after deploy", "A config key was renamed "
         "in code but not in the deploy", "Check config keys in CI against the manifest"),
        ("auth", "Logins failing after a library upgrade", "A session library upgrade changed "
         "the cookie format", "Upgrade session libraries behind a flag"),
    ],
    "Capacity": [
        ("postgres-primary", "Database connections exhausted at peak", "The connection pool "
         "was sized for last year's traffic", "Alert on pool saturation above 80%"),
        ("postgres-primary", "Slow queries during the sale", "A missing index made the sale "
         "query scan the orders table", "Review the slow-query log before each sale"),
    ],
    "Dependency": [
        ("payment-service", "Payment provider timeouts", "The provider slowed down and our "
         "timeouts were longer than the checkout's", "Fail over to the second provider"),
    ],
    "Configuration": [
        ("search", "Search returns nothing for new products", "The index pipeline pointed at "
         "an old bucket after a migration", "Keep bucket names in one setting"),
    ],
    "Process": [
        ("checkout-api", "Hotfix shipped without review", "The hotfix path skipped the review "
         "step under pressure", "Make the hotfix checklist part of the deploy tool"),
    ],
    "Detection gap": [
        ("search", "Search index hours behind", "Nothing alerted on index lag; a customer "
         "told us", "Alert when the index is more than 10 minutes behind"),
        ("auth", "Password resets silently not sent", "Mail bounces were not monitored",
         "Alert on the bounce rate of reset mails"),
    ],
}  # fmt: skip
# How likely each category is in each quarter, oldest first: the year's story.
WEIGHTS = {
    "Change or deploy": [6, 5, 2, 2],
    "Capacity": [1, 2, 5, 1],
    "Dependency": [1, 1, 1, 1],
    "Configuration": [1, 1, 1, 1],
    "Process": [2, 1, 1, 0],
    "Detection gap": [3, 3, 1, 1],
}
PER_QUARTER = 14


def seed_year(*, now: datetime) -> list[Incident | None]:
    """Create what is missing of the year; returns the incidents made (None where found)."""
    rng = random.Random(2026)
    users = {u.username: u for u in get_user_model().objects.all()}
    teams = {t.slug: t for t in Team.objects.prefetch_related("members")}
    services = {s.slug: s for s in Service.objects.select_related("team")}
    categories = {c.name: c for c in CauseCategory.objects.all()}
    severities = {s.level: s for s in Severity.objects.all()}
    made: list[Incident | None] = []
    number = 0
    for quarter in range(4):
        for _ in range(PER_QUARTER):
            number += 1
            names = list(WEIGHTS)
            category = rng.choices(names, [WEIGHTS[n][quarter] for n in names])[0]
            story = rng.choice(STORIES[category])
            days_ago = 365 - quarter * 91 - rng.randint(0, 88)
            made.append(
                _incident(
                    random.Random(number),  # its own, so finding it draws nothing from rng
                    number,
                    quarter,
                    category,
                    story,
                    now - timedelta(days=days_ago),
                    users,
                    teams,
                    services,
                    categories,
                    severities,
                    now,
                )  # fmt: skip
            )
    _recurrences(now)
    # Some of the back-dating above is written with update(), which no save signal sees.
    bump()
    return made


def _incident(rng, number, quarter, category, story, start, users, teams, services,
              categories, severities, now):  # fmt: skip
    service_slug, title, cause_text, fix = story
    title = f"{title} {MARK} Y{number}"
    if service_slug not in services or Incident.objects.filter(title=title).exists():
        return None
    service = services[service_slug]
    team = service.team
    members = list(team.members.all()) or list(users.values())
    owner = rng.choice(members)
    # Detection speeds up once the alerting work lands (after the second quarter).
    gap = category == "Detection gap"
    detect = rng.randint(15, 50) * (3 if gap else 1) if quarter < 2 else rng.randint(2, 12)
    ack = detect + rng.randint(2, 12)
    escalate = ack + rng.randint(5, 20) if rng.random() < 0.3 else None
    mitigate = ack + rng.randint(10, 60)
    resolve = mitigate + rng.randint(10, 180)
    level = rng.choices([1, 2, 3, 4], [1, 3, 5, 3])[0]
    minutes = {"detected_at": detect, "acknowledged_at": ack, "escalated_at": escalate,
               "mitigated_at": mitigate, "resolved_at": resolve}  # fmt: skip
    incident = Incident(
        title=title,
        severity=severities[level],
        owner=owner,
        team=team,
        started_at=start,
        status=Incident.Status.CLOSED,
        customer_facing=level <= 2,
        **{k: start + timedelta(minutes=m) for k, m in minutes.items() if m is not None},
    )
    incident = incident_open(incident=incident, services=[service], responders=[owner], user=owner)
    entries = [
        (ack, TimelineEntry.Kind.RESPONSE, f"{owner.first_name} took it on."),
        (mitigate, TimelineEntry.Kind.MITIGATION, f"Mitigated: {fix.lower()} for now."),
        (resolve, TimelineEntry.Kind.RESOLUTION, "Back to normal; watching for an hour."),
    ]
    if escalate:
        entries.append(
            (escalate, TimelineEntry.Kind.ESCALATION, "Paged the owning team's on-call.")
        )
    for offset, kind, text in entries:
        entry = TimelineEntry(incident=incident, occurred_at=start + timedelta(minutes=offset),
                              kind=kind, text=text, added_by=owner)  # fmt: skip
        entry._history_user = owner
        entry.save()
    cause = Cause(postmortem=incident.postmortem, statement=cause_text,
                  category=categories.get(category))  # fmt: skip
    cause._history_user = owner
    cause.save()
    why = Why(cause=cause, question="Why did it happen?", answer=cause_text, position=0)
    why._history_user = owner
    why.save()
    _items(rng, incident, owner, members, fix, quarter, now)
    _write_up(rng, incident, owner, quarter)
    return incident


def _items(rng, incident, owner, members, fix, quarter, now):
    created = incident.resolved_at + timedelta(days=1)
    for position, title in enumerate([fix, "Add the missing runbook step"][: rng.randint(1, 2)]):
        age = (now - created).days
        closes_after = rng.randint(5, 60)
        status = ActionItem.Status.OPEN
        closing = {}
        if closes_after < age and rng.random() < 0.8:
            if rng.random() < 0.15:
                status = ActionItem.Status.WONT_DO
                closing = {"wont_do_reason": "Superseded by the platform migration."}
            else:
                status = ActionItem.Status.DONE
                worth = rng.choices(["yes", "partly", "no"], [6, 2, 2])[0]
                closing = {"outcome": "Shipped and checked in production.", "worth_it": worth}
        item = ActionItem(
            incident=incident, created_by=owner, position=position, title=title,
            owner=rng.choice(members), due_date=(created + timedelta(days=30)).date(),
            status=status, **closing,
        )  # fmt: skip
        item._history_user = owner
        item.save()
        closed_at = created + timedelta(days=closes_after) if status != "open" else None
        # Demo history: the dates a year of work would have, not today's.
        ActionItem.objects.filter(pk=item.pk).update(created_at=created, closed_at=closed_at)


def _write_up(rng, incident, owner, quarter):
    """Published on time more often as the year goes on."""
    postmortem = incident.postmortem
    late_days = rng.choice([0, 0, 1, 3, 6]) if quarter < 2 else rng.choice([0, 0, 0, 0, 2])
    published = (postmortem.due_at or incident.resolved_at) + timedelta(
        days=late_days, hours=-6 if late_days == 0 else 2
    )
    content = DjangoJSONEncoder().encode(reader_document(incident, for_stakeholders=True))
    Publication.objects.create(
        postmortem=postmortem, number=1, published_at=published, published_by=owner,
        content=json.loads(content),
    )  # fmt: skip
    postmortem.status = Postmortem.Status.PUBLISHED
    postmortem._history_user = owner
    postmortem.save()


def _recurrences(now):
    """The index lag came back twice while its alert was still not built."""
    lagging = list(
        Incident.objects.filter(title__startswith="Search index hours behind").order_by(
            "started_at"
        )
    )
    for earlier, later in zip(lagging, lagging[1:], strict=False):
        Recurrence.objects.get_or_create(
            incident=later, earlier=earlier, defaults={"decision": "confirmed"}
        )
        # Its alert was built only after the lag came back: closed two days after that.
        fix = earlier.action_items.order_by("position").first()
        closed = later.started_at + timedelta(days=2)
        if fix is not None and fix.created_at < later.started_at and closed < now:
            ActionItem.objects.filter(pk=fix.pk, closed_at__isnull=False).update(closed_at=closed)
