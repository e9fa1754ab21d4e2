"""The insights page over 10,000 incidents, beside the login page, as an admin and a team member.

Builds its own PostgreSQL database with set-based INSERT ... SELECT (once; a later run reuses it
when it holds the same number of incidents): six teams with a lead and three members each,
three services per team, incidents spread over fifteen months (one in ten private to its team),
each with a postmortem and its due date, three timeline entries, one or two causes tagged with
a category, two action items in every state, most postmortems published (some late), and
confirmed recurrences.

Then, in one run and through Django's test client on the real settings (the whole view:
session, policy, form, figures, template; the cache is the configured one), it times:
- `/login/` and `/insights/` interleaved, so both see the same machine load;
- the insights page for the whole fifteen months (every incident) and for the last quarter;
- as an admin (sees everything) and as a team member (private incidents of other teams are
  filtered out by the policy);
- "warm": the page as readers get it between saves;
- the reader's first view right after a save (the data version is bumped before each round),
  three ways:
  "cold": no background refresh (embedded mode, or no worker): the page computes its figures;
  "stale": a refresh is queued but has not run yet: the page shows the figures from before the
    save with the "updating" note (same visibility scope only);
  "fresh": the refresh was allowed to finish before the view. The worker's run is timed too
    ("refresh"): it is `insights.cache.refresh()`, called in this process where a Celery worker
    would run it (the broker's hop is not timed), and covers every combination asked for so far.
It prints the medians, p95 and each page's ratio to the login page (target: within 10x).
With no REDIS_URL (embedded mode) only "warm" and "cold" are timed.

    .venv/bin/python bench/insights.py [--incidents 10000] [--rounds 15]
                                       [--database-url postgres://.../hindsight_insights_bench]

The database's name must contain "bench": it is emptied and refilled when its size differs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hindsight_insights_bench"
DAYS = 456  # fifteen months
TEAMS = 6


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hindsight.settings")
    os.environ["DJANGO_DEBUG"] = "false"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_database(database_url: str) -> None:
    import psycopg

    name = urlsplit(database_url).path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"Refusing to fill {name!r}: the benchmark's database name must contain 'bench'.")
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def people() -> None:
    """Teams, their leads and members, services, and the two readers the page is timed for."""
    from django.contrib.auth import get_user_model

    from incidents.models import Service, Team

    User = get_user_model()
    admin, _ = User.objects.get_or_create(username="bench-admin")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    for t in range(1, TEAMS + 1):
        lead, _ = User.objects.get_or_create(
            username=f"bench-lead-{t}", defaults={"email": f"lead{t}@example.com"}
        )
        team, _ = Team.objects.get_or_create(
            slug=f"bench-team-{t}", defaults={"name": f"Team {t}", "lead": lead}
        )
        for m in range(3):
            member, _ = User.objects.get_or_create(username=f"bench-member-{t}-{m}")
            team.members.add(member)
        for s in range(3):
            Service.objects.get_or_create(
                slug=f"bench-svc-{t}-{s}", defaults={"name": f"service {t}.{s}", "team": team}
            )


def build(incidents: int) -> None:
    from django.db import connection

    span = f"interval '{DAYS} days'"
    start = f"now() - {span} * (i::float / {incidents})"
    steps = [
        "TRUNCATE incidents_incident RESTART IDENTITY CASCADE",
        f"""INSERT INTO incidents_incident (number, title, severity_id, status, started_at,
            detected_at, acknowledged_at, mitigated_at, resolved_at, customer_facing, private,
            version, created_at, quiet_snooze_reason, near_miss, team_id)
            SELECT i, 'Incident ' || i,
                   (SELECT id FROM incidents_severity ORDER BY level OFFSET i % 4 LIMIT 1),
                   'closed', {start},
                   {start} + (i % 40 + 1) * interval '1 min',
                   CASE WHEN i % 17 <> 0 THEN {start} + (i % 40 + 5) * interval '1 min' END,
                   {start} + (i % 90 + 20) * interval '1 min',
                   {start} + (i % 300 + 60) * interval '1 min',
                   i % 3 = 0, i % 10 = 0, 1, now(), '', false,
                   (SELECT id FROM incidents_team WHERE slug = 'bench-team-' || (1 + i % {TEAMS}))
            FROM generate_series(1, {incidents}) AS i""",
        f"""INSERT INTO incidents_incident_services (incident_id, service_id)
            SELECT i.id, (SELECT id FROM incidents_service
                          WHERE slug = 'bench-svc-' || (1 + i.number % {TEAMS}) || '-'
                                       || ((i.number / {TEAMS}) % 3))
            FROM incidents_incident i""",
        """INSERT INTO postmortems_postmortem (incident_id, template, status, status_reason,
            due_at, created_at)
            SELECT id, 'full', 'draft', '', resolved_at + interval '2 days', now()
            FROM incidents_incident""",
        """INSERT INTO postmortems_publication (postmortem_id, number, published_at, content,
            missing, override_reason)
            SELECT p.id, 1, p.due_at + (i.number % 7 - 4) * interval '1 day', '{}', '[]', ''
            FROM postmortems_postmortem p JOIN incidents_incident i ON i.id = p.incident_id
            WHERE i.number % 5 <> 0 AND p.due_at + (i.number % 7 - 4) * interval '1 day' < now()
        """,
        """INSERT INTO incidents_timelineentry (incident_id, occurred_at, kind, text, source,
            version)
            SELECT i.id, i.started_at + n * interval '7 min',
                   (ARRAY['detection', 'response', 'mitigation'])[n + 1],
                   'Entry ' || n || ' of incident ' || i.number, 'manual', 1
            FROM incidents_incident i CROSS JOIN generate_series(0, 2) AS n""",
        """INSERT INTO postmortems_cause (postmortem_id, statement, kind, position, version,
            category_id)
            SELECT p.id, 'Cause ' || n, 'primary', n, 1,
                   CASE WHEN (p.id + n) % 9 = 0 THEN NULL ELSE
                   (SELECT id FROM postmortems_causecategory ORDER BY position
                    OFFSET (p.id * 7 + n) % 6 LIMIT 1) END
            FROM postmortems_postmortem p CROSS JOIN generate_series(0, 1) AS n
            WHERE n = 0 OR p.id % 3 = 0""",
        """INSERT INTO actions_actionitem (incident_id, title, kind, status, position, version,
            created_at, updated_at, closed_at, outcome, priority, snooze_count, snooze_reason,
            ticket_url, wont_do_reason, worth_it, due_date, effort, impact, evidence_url,
            recheck_note)
            SELECT i.id, 'Fix ' || n, 'corrective',
                   (ARRAY['open', 'done', 'done', 'wont_do', 'in_progress'])[1 + (i.id + n) % 5],
                   n, 1, i.resolved_at, now(),
                   CASE WHEN (i.id + n) % 5 IN (1, 2, 3)
                        THEN i.resolved_at + ((i.id + n) % 40) * interval '1 day' END,
                   CASE WHEN (i.id + n) % 5 IN (1, 2) THEN 'Shipped and checked.' ELSE '' END,
                   2, 0, '', '',
                   CASE WHEN (i.id + n) % 5 = 3 THEN 'Replaced by the new gateway.' ELSE '' END,
                   CASE WHEN (i.id + n) % 5 IN (1, 2)
                        THEN (ARRAY['yes', 'partly', 'no'])[1 + i.id % 3] ELSE '' END,
                   (i.resolved_at + interval '30 days')::date, '', '', '', ''
            FROM incidents_incident i CROSS JOIN generate_series(0, 1) AS n""",
        f"""INSERT INTO insights_recurrence (incident_id, earlier_id, decision, decided_at)
            SELECT i.id, e.id, 'confirmed', now()
            FROM incidents_incident i JOIN incidents_incident e ON e.number = i.number - {TEAMS}
            WHERE i.number % 20 = 0""",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        for step in steps:
            started = time.perf_counter()
            cursor.execute(step)
            print(f"  {step.split()[0]} {step.split()[2]}: {time.perf_counter() - started:.1f} s")
        cursor.execute("VACUUM ANALYZE")


def timed(client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered) + 0.5) - 1)]


def _bump():
    """After a save: what makes the next page compute its figures again (None if nothing)."""
    try:
        from insights.cache import bump
    except ImportError:
        return None
    return bump


def after_save(mode: str, refreshes: list[float]) -> None:
    """What a committed save does, then what the worker did or did not do by the next view."""
    from insights import cache

    cache.bump()
    if mode == "cold":
        cache.forget_refresh(asked=False)  # no refresh pending: the page computes
        return
    cache.queue_refresh()
    if mode == "fresh":
        started = time.perf_counter()
        cache.refresh()
        refreshes.append((time.perf_counter() - started) * 1000)


def measure(rounds: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from incidents.models import Incident
    from incidents.policy import visible_incidents
    from insights import periods

    User = get_user_model()
    readers = {
        "admin": User.objects.get(username="bench-admin"),
        "member": User.objects.get(username="bench-member-1-0"),
    }
    anonymous = Client()
    today = timezone.localdate()
    quarter = periods.quarter_of(today, -1)
    everything = {
        "period": "custom",
        "start": (today - timedelta(days=DAYS)).isoformat(),
        "end": today.isoformat(),
    }
    pages = {
        f"{DAYS} days": everything,
        quarter.label: {"period": "quarter", "on": quarter.start.isoformat()},
    }
    from insights import cache

    bump = _bump()
    modes = ["warm", "cold"] if bump else ["as is (no cache)"]
    if cache.background():
        modes += ["stale", "fresh"]
        cache.forget_refresh()
    print(f"{Incident.objects.count():,} incidents; rounds {rounds}")
    timed(anonymous, "/login/")
    for who, user in readers.items():
        client = Client()
        client.force_login(user)
        seen = visible_incidents(user).count()
        for label, params in pages.items():
            queries: list[str] = []

            def count(run, sql, *args, queries=queries):
                queries.append(sql)
                return run(sql, *args)

            with connection.execute_wrapper(count):
                if bump:
                    after_save("cold", [])
                timed(client, "/insights/", params)  # warm the cache and the plans
            for mode in modes:
                insights, login, refreshes = [], [], []
                for _ in range(rounds):
                    if mode != "warm":
                        after_save(mode, refreshes)
                    login.append(timed(anonymous, "/login/"))
                    insights.append(timed(client, "/insights/", params))
                ratio = statistics.median(insights) / statistics.median(login)
                print(
                    f"{who:6} sees {seen:>6,} | {label:9} {mode:5} | insights p50 "
                    f"{statistics.median(insights):7.1f} ms p95 {percentile(insights, 0.95):7.1f}"
                    f" ms | login p50 {statistics.median(login):5.1f} ms | ratio {ratio:5.1f}x"
                    f"{'  ok' if ratio <= 10 else '  OVER 10x'}"
                )
                if refreshes:
                    print(
                        f"{'':6}   the refresh before each view took p50 "
                        f"{statistics.median(refreshes):7.1f} ms p95 "
                        f"{percentile(refreshes, 0.95):7.1f} ms (in the background)"
                    )
            print(f"{'':6}   computing the page took {len(queries)} queries")
    print(f"process CPU time {time.process_time():.1f} s (the machine is shared; wall times vary)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    args = parser.parse_args()
    create_database(args.database_url)
    django_setup(args.database_url)
    from django.core.management import call_command

    from incidents.models import Incident

    call_command("migrate", verbosity=0)
    people()
    if Incident.objects.count() != args.incidents:
        started = time.perf_counter()
        print(f"Building {args.incidents:,} incidents ...")
        build(args.incidents)
        print(f"  built in {time.perf_counter() - started:.1f} s")
        bump = _bump()
        if bump:
            bump()  # the load bypassed save(), which would have said the data changed
    from unittest import mock

    # A Celery worker is not part of the timing: the refresh is queued to nowhere and run
    # in-process where the figures say so (`after_save`).
    with mock.patch("insights.tasks.refresh_figures.apply_async"):
        measure(args.rounds)


if __name__ == "__main__":
    main()
