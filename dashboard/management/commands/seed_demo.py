"""A realistic demo data set: teams, people, services and three incidents with postmortems.

Safe to run again: everything is looked up by a natural key first and only created when missing.
For development and demos only; the demo password is printed.
"""

from __future__ import annotations

import io
from datetime import timedelta
from importlib import import_module

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from PIL import Image as PillowImage
from PIL import ImageDraw

from actions.models import ActionItem
from dashboard.demo_meetings import seed_review_meetings
from dashboard.demo_premortem import seed_premortem
from dashboard.demo_review_craft import seed_review_craft
from incidents.demo_response import seed_active_response
from incidents.models import Incident, Service, Severity, Team, TimelineEntry
from incidents.opening import incident_open
from insights.demo import seed_year
from postmortems.images import image_attach
from postmortems.models import Cause, Section, Why
from postmortems.publishing.workflow import postmortem_publish, postmortem_submit_for_review

# The severities the migrations install; the demo needs them even after a test flushed them.
DEFAULT_SEVERITIES = import_module("incidents.migrations.0002_default_severities").SEVERITIES
DEMO_PASSWORD = "demo"
CLOSING = {
    "done": {
        "outcome": "Shipped, and checked in production.",
        "worth_it": "yes",
        "evidence_url": "https://github.com/example/payment-service/pull/1240",
    },
    "wont_do": {"wont_do_reason": "Too large for what it buys; the alerting covers the risk."},
}
PEOPLE = [
    ("demo", "Dana", "Demo"),
    ("priya", "Priya", "Raman"),
    ("marcus", "Marcus", "Webb"),
    ("lena", "Lena", "Hoffmann"),
    ("sam", "Sam", "Okafor"),
]
TEAMS = {
    "payments": ("Payments", "priya", ["demo", "priya", "marcus"]),
    "platform": ("Platform", "lena", ["demo", "lena", "sam"]),
}
SERVICES = [
    ("payment-service", "Payment service", "payments", "Takes card payments for checkout."),
    ("checkout-api", "Checkout API", "payments", "The API the shop front calls to place orders."),
    ("postgres-primary", "Primary PostgreSQL", "platform", "The main relational database."),
    ("search", "Search", "platform", "Product search and its index pipeline."),
    ("auth", "Login and accounts", "platform", "Sign-in, sessions and single sign-on."),
]


def demo_graph(*, spike: bool) -> bytes:
    """A plain line graph: a flat line that jumps for the incident's 47 minutes."""
    width, height = 720, 300
    image = PillowImage.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.line([(40, 260), (700, 260)], fill="#8a94a3", width=2)
    draw.line([(40, 20), (40, 260)], fill="#8a94a3", width=2)
    if not spike:
        draw.line([(40, 60), (700, 60)], fill="#b42318", width=1)  # the pool's limit
    points = []
    for minute in range(61):
        during = 8 <= minute <= 55
        level = (200 if spike else 195) if during else 12 + (minute * 7) % 11
        points.append((40 + minute * 11, 258 - level))
    draw.line(points, fill="#2f5d9e", width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Command(BaseCommand):
    help = "Create a realistic demo data set (idempotent). Development only."

    def handle(self, *args, **options):
        with transaction.atomic():
            people = self.people()
            teams = self.teams(people)
            services = self.services(teams)
            now = timezone.now().replace(microsecond=0)
            created = [
                self.payment_outage(people, teams, services, now),
                self.search_lag(people, teams, services, now),
                self.login_errors(people, teams, services, now),
            ]
            created += seed_year(now=now)
            seed_review_craft(people, now)
            seed_review_meetings(people, now)
            seed_premortem(people, teams, now)
        made = sum(1 for incident in created if incident is not None)
        self.stdout.write(f"Demo data ready ({made} incidents created this time).")
        self.stdout.write(
            f"Log in as demo / {DEMO_PASSWORD} (development only; never use on a real server)."
        )

    def severity(self, level: int) -> Severity:
        """The severity of that level, put back from the defaults if someone deleted it."""
        defaults = {row[0]: row for row in DEFAULT_SEVERITIES}
        _, meaning, full = defaults[level]
        return Severity.objects.get_or_create(
            level=level, defaults={"meaning": meaning, "full_postmortem": full}
        )[0]

    def people(self):
        User = get_user_model()
        people = {}
        for username, first, last in PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                if username == "demo":
                    user.is_staff = user.is_superuser = True
                user.save()
            people[username] = user
        return people

    def teams(self, people):
        teams = {}
        for slug, (name, lead, members) in TEAMS.items():
            team, _ = Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "lead": people[lead]}
            )
            team.members.add(*(people[m] for m in members))
            teams[slug] = team
        return teams

    def services(self, teams):
        return {
            slug: Service.objects.get_or_create(
                slug=slug,
                defaults={"name": name, "team": teams[team], "description": description},
            )[0]
            for slug, name, team, description in SERVICES
        }

    def open(self, *, title, level, owner, team, services, responders, **times):
        if Incident.objects.filter(title=title).exists():
            return None
        incident = Incident(
            title=title,
            severity=self.severity(level),
            owner=owner,
            team=team,
            **times,
        )
        return incident_open(
            incident=incident, services=services, responders=responders, user=owner
        )

    def timeline(self, incident, user, start, entries):
        incident.timeline.all().delete()
        for minutes, kind, text in entries:
            entry = TimelineEntry(
                incident=incident,
                occurred_at=start + timedelta(minutes=minutes),
                kind=kind,
                text=text,
                added_by=user,
            )
            entry._history_user = user
            entry.save()

    def sections(self, incident, user, texts):
        for section in Section.objects.filter(postmortem__incident=incident):
            if section.key in texts:
                section.body = texts[section.key]
                section.version += 1
                section._history_user = user
                section.save()

    def cause(self, incident, user, statement, whys, kind=Cause.Kind.PRIMARY):
        cause = Cause(postmortem=incident.postmortem, statement=statement, kind=kind)
        cause._history_user = user
        cause.save()
        for position, (question, answer, evidence) in enumerate(whys):
            why = Why(
                cause=cause,
                position=position,
                question=question,
                answer=answer,
                evidence=evidence,
            )
            why._history_user = user
            why.save()
        return cause

    def actions(self, incident, people, user, cause, rows):
        """Action items from rows of (title, owner, due in days, kind, status, for the cause),
        closed ones with how they were closed."""
        today = timezone.localdate()
        for position, (title, owner, due_in, kind, status, for_cause) in enumerate(rows):
            closing = CLOSING.get(status, {})
            item = ActionItem(
                incident=incident,
                created_by=user,
                position=position,
                title=title,
                owner=people[owner] if owner else None,
                due_date=None if due_in is None else today + timedelta(days=due_in),
                kind=kind,
                status=status,
                cause=cause if for_cause else None,
                **closing,
            )
            item.full_clean()
            item._history_user = user
            item.save()

    def payment_outage(self, people, teams, services, now):
        start = now - timedelta(days=21, hours=3)
        incident = self.open(
            title="Payment service outage: database connections exhausted",
            level=1,
            owner=people["priya"],
            team=teams["payments"],
            services=[
                services["payment-service"],
                services["checkout-api"],
                services["postgres-primary"],
            ],
            responders=[people["priya"], people["marcus"], people["lena"], people["demo"]],
            started_at=start,
            detected_at=start + timedelta(minutes=4),
            acknowledged_at=start + timedelta(minutes=7),
            mitigated_at=start + timedelta(minutes=38),
            resolved_at=start + timedelta(minutes=47),
            status=Incident.Status.RESOLVED,
            customer_facing=True,
        )
        if incident is None:
            return None
        self.timeline(
            incident,
            people["priya"],
            start,
            [
                (0, "failure", "Release 2024.18 of payment-service reaches 100% of hosts."),
                (
                    4,
                    "detection",
                    "Alert: checkout error rate above 5% for 3 minutes. Paged on-call.",
                ),
                (7, "response", "Marcus acknowledges the page and opens the incident."),
                (12, "escalation", "Database connections at 100/100; Lena from Platform joins."),
                (15, "communication", "Status page: payments failing for some customers."),
                (31, "mitigation", "Roll back payment-service to 2024.17."),
                (38, "mitigation", "Connection count falls to 35; error rate back under 0.1%."),
                (47, "resolution", "Checkout healthy for 10 minutes; incident resolved."),
            ],
        )
        self.sections(
            incident,
            people["priya"],
            {
                "summary": "For 47 minutes, about a third of card payments failed at checkout. "
                "A release made every request open its own database connection, the primary ran "
                "out of connections, and payments queued until they timed out. Rolling the release "
                "back restored service.",
                "impact": "- 31% of payment attempts failed between 14:04 and 14:51 UTC\n"
                "- 2,140 customers saw an error at checkout; 640 retried successfully\n"
                "- The checkout availability SLO burned 60% of its monthly budget",
                "business-impact": "An estimated **€38,000** of orders were not placed. Support "
                "received 112 tickets. Two enterprise customers asked for an incident report.",
                "aftercare": "Customers who saw an error received an apology e-mail with a 10% "
                "voucher. Both enterprise customers were sent this postmortem.",
                "root-cause": "A refactoring of the repository layer replaced the pooled data "
                "source with direct connections. Nothing in review, tests or the rollout "
                "watched the connection count, so the change reached every host.",
                "contributing-factors": "- The canary stage lasted 5 minutes, too short for the "
                "connection count to climb\n- The connection-count alert was set at 100%, when it "
                "was already too late",
                "went-well": "The error-rate alert fired within 4 minutes, and the rollback "
                "runbook worked first time.",
                "went-poorly": "It took 8 minutes to find someone with access to the database "
                "metrics.",
                "lucky": "The outage began outside the evening peak.",
                "lessons": "Connection handling is infrastructure, even when it changes in an "
                "application pull request.",
            },
        )
        cause = self.cause(
            incident,
            people["priya"],
            "Payment service failed for 47 minutes because database connections were exhausted.",
            [
                (
                    "Why did the service fail?",
                    "Database connections were exhausted, so new requests could not be served.",
                    "Connection count at 100/100 with 500+ requests waiting.",
                ),
                (
                    "Why were the connections exhausted?",
                    "Each request opened its own connection instead of borrowing one from the "
                    "pool.",
                    "The diff replaces the pooled data source with a direct connection.",
                ),
                (
                    "Why did the code bypass the pool?",
                    "A refactoring of the repository class changed how connections are obtained, "
                    "while fixing an unrelated bug.",
                    "Pull request 1234.",
                ),
                (
                    "Why was this not caught in review?",
                    "The review focused on the bug fix; the connection change looked incidental.",
                    "The review comments discuss only the business logic.",
                ),
                (
                    "Why is there no automated check for connection handling?",
                    "No test covers connection behaviour under load, and the canary does not "
                    "watch connection counts.",
                    "The load-test suite has no database connection scenario.",
                ),
            ],
        )
        self.actions(
            incident,
            people,
            people["priya"],
            cause,
            [
                (
                    "Revert to pooled connections; a unit test fails on direct connections",
                    "marcus",
                    -18,
                    "corrective",
                    "done",
                    True,
                ),
                (
                    "Alert when connection usage passes 80% for 2 minutes",
                    "lena",
                    -6,
                    "detection",
                    "in_progress",
                    True,
                ),
                (
                    "Add a connection-leak scenario to the load tests",
                    "demo",
                    -3,
                    "preventive",
                    "open",
                    True,
                ),
                (
                    "Lengthen the canary stage to 30 minutes and gate on connection count",
                    None,
                    None,
                    "preventive",
                    "open",
                    True,
                ),
                (
                    "Give on-call read access to database metrics",
                    "sam",
                    5,
                    "mitigation",
                    "blocked",
                    False,
                ),
                ("Rewrite the repository layer", "marcus", None, "preventive", "wont_do", False),
            ],
        )
        self.graphs(incident, people["priya"])
        return incident

    def graphs(self, incident, user):
        """The graphs responders pasted in: the failure rate in the impact, the pool in a why."""
        impact = Section.objects.get(postmortem__incident=incident, key="impact")
        why = Why.objects.filter(cause__postmortem__incident=incident).order_by("pk").first()
        detection = incident.timeline.filter(kind=TimelineEntry.Kind.DETECTION).first()
        pictures = [
            ("section", impact, "failed-payments.png", "Failed payment attempts, % per minute"),
            ("entry", detection, "pool-alert.png", "The alert as it fired: pool at 100/100"),
            ("why", why, "connections.png", "Open connections against the pool's limit of 100"),
        ]
        for host_kind, host, name, caption in pictures:
            if host is None:
                continue
            upload = io.BytesIO(demo_graph(spike=host_kind != "why"))
            upload.name = name
            image_attach(
                postmortem=incident.postmortem,
                host_kind=host_kind,
                block=host,
                upload=upload,
                caption=caption,
                user=user,
            )

    def search_lag(self, people, teams, services, now):
        start = now - timedelta(days=9, hours=6)
        incident = self.open(
            title="Search results up to 40 minutes stale",
            level=3,
            owner=people["lena"],
            team=teams["platform"],
            services=[services["search"]],
            responders=[people["lena"], people["sam"]],
            started_at=start,
            detected_at=start + timedelta(minutes=22),
            acknowledged_at=start + timedelta(minutes=30),
            mitigated_at=start + timedelta(minutes=55),
            resolved_at=start + timedelta(minutes=70),
            status=Incident.Status.CLOSED,
        )
        if incident is None:
            return None
        self.timeline(
            incident,
            people["lena"],
            start,
            [
                (0, "failure", "Index consumer stops committing offsets after a broker restart."),
                (22, "detection", "Support reports new products missing from search."),
                (30, "response", "Sam finds consumer lag at 40 minutes and growing."),
                (55, "mitigation", "Consumer restarted; lag drains."),
                (70, "resolution", "Lag back under 30 seconds."),
            ],
        )
        self.sections(
            incident,
            people["lena"],
            {
                "what-happened": "After a routine broker restart the search indexer stopped making "
                "progress. New and changed products were missing from search for 70 minutes.",
                "root-cause": "The indexer's client does not reconnect after the broker closes the "
                "connection during a restart.",
                "fix": "Restarted the consumer. The client library is being upgraded, and lag now "
                "alerts at 5 minutes.",
                "lessons": "We found out from support, not from our own alerts.",
            },
        )
        cause = self.cause(
            incident,
            people["lena"],
            "The search indexer stalled after a broker restart.",
            [
                (
                    "Why did the indexer stall?",
                    "Its client did not reconnect after the restart.",
                    "Client logs end at the restart.",
                ),
                (
                    "Why did nobody notice for 22 minutes?",
                    "There was no alert on consumer lag.",
                    "The alert catalogue has none for search.",
                ),
            ],
        )
        self.actions(
            incident,
            people,
            people["lena"],
            cause,
            [
                ("Alert when indexer lag passes 5 minutes", "sam", -2, "detection", "done", True),
                ("Upgrade the broker client library", "sam", 3, "corrective", "open", True),
            ],
        )
        # Through the workflow, as a person would: reviewed, then published, which freezes the
        # version stakeholders read. No summary is sent from demo data.
        postmortem_submit_for_review(postmortem=incident.postmortem, user=people["lena"])
        postmortem_publish(incident=incident, user=people["lena"])
        return incident

    def login_errors(self, people, teams, services, now):
        start = now - timedelta(minutes=35)
        incident = self.open(
            title="Elevated login errors for single sign-on customers",
            level=2,
            owner=people["demo"],
            team=teams["platform"],
            services=[services["auth"]],
            responders=[people["demo"], people["sam"]],
            started_at=start,
            detected_at=start + timedelta(minutes=6),
            acknowledged_at=start + timedelta(minutes=11),
            status=Incident.Status.IDENTIFIED,
            customer_facing=True,
        )
        if incident is None:
            return None
        self.timeline(
            incident,
            people["demo"],
            start,
            [
                (0, "failure", "Identity provider certificate rotated on their side."),
                (6, "detection", "Alert: SSO login failures above 20%."),
                (11, "response", "Dana takes incident ownership; Sam joins."),
                (24, "communication", "Support briefed; affected customers listed."),
            ],
        )
        self.sections(
            incident,
            people["demo"],
            {
                "summary": "Customers who sign in through single sign-on are failing to log in. "
                "We believe a certificate rotation at the identity provider is the trigger.",
            },
        )
        seed_active_response(incident, people, start)
        self.blaming_words_draft(incident, people)
        return incident

    def blaming_words_draft(self, incident, people):
        """A draft analysis written in a hurry, so the notes on wording have something to say."""
        self.sections(
            incident,
            people["demo"],
            {
                "contributing-factors": "The provider's rotation notice went to a shared inbox "
                "nobody watches. Sam should have checked it, and the runbook was careless about "
                "certificates.",
            },
        )
        self.cause(
            incident,
            people["demo"],
            "Human error: the new certificate was not loaded before the old one expired.",
            [
                (
                    "Why was the certificate not loaded?",
                    "Loading it is a manual step that someone forgot.",
                    "",
                )
            ],
        )
