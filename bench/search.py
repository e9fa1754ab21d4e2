"""Search over 100,000 incidents with their documents, and insights over a quarter of 10,000.

Builds its own PostgreSQL database with set-based INSERT ... SELECT (once; later runs reuse it
when the size matches): per incident a title, three written sections, three timeline entries,
a cause with a why, and an action item, from a vocabulary where "database" is in about a third
of the texts and "zephyrine" in one incident in ten thousand; every fifth incident is private
to one of eight teams. Columns added to the models later are filled with their defaults. The
search index is filled the way `rebuild_search_index` fills it (one statement per searchable
kind), its GIN index made once afterwards. The incidents are spread over ten quarters, so the
last complete quarter holds about 10,000 of them.

Then, in one run, it times through Django's test client (the whole view: policy, form, query,
template):
- `/search/?q=` for a common word, a rare word, and a common two-word phrase: p50 and p95, as
  a member (every public incident), as a member of one team (and its private incidents), and
  that member with the team filter set;
- `/insights/` for that quarter, interleaved with `/login/` so both see the same machine load,
  and the ratio of their medians (target: insights within 10x the login page).

    .venv/bin/python bench/search.py [--incidents 100000] [--rounds 30] [--search-only]
                                     [--database-url postgres://.../hindsight_bench_search]

The database's name must contain "bench": it is emptied and refilled.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hindsight_bench_search"
QUARTERS = 10
TEAMS = 8  # every fifth incident is private to its team
SUBJECTS = ["The database", "The payment service", "Checkout", "The search index", "Login",
            "The cache", "The message queue", "DNS"]  # fmt: skip
VERBS = ["failed over", "ran out of connections", "slowed down", "returned errors",
         "lagged behind", "dropped requests", "timed out", "restarted"]  # fmt: skip
REASONS = ["after a deploy", "under peak load", "when a certificate expired",
           "because a config flag flipped", "while the provider was degraded",
           "after a schema migration", "during the sale", "without any alert firing"]  # fmt: skip


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


def _array(words: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]"


def sentence(seed: str) -> str:
    """SQL for a sentence picked by an integer expression, so texts vary across rows."""
    return (
        f"({_array(SUBJECTS)})[1 + ({seed}) % 8] || ' ' || "
        f"({_array(VERBS)})[1 + (({seed}) / 8) % 8] || ' ' || "
        f"({_array(REASONS)})[1 + (({seed}) / 64) % 8] || '.'"
    )


def with_defaults(table: str, sql: str) -> tuple[str, list]:
    """`sql` (INSERT INTO table (columns) SELECT values ...) with every other non-null column
    of the table's model filled with the model's default, so a field added later with a
    default does not break the build."""
    from django.apps import apps
    from django.db import connection

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    sql = sql.replace("%", "%%")
    head, rest = sql.split(")", 1)
    named = {c.strip() for c in head.split("(", 1)[1].split(",")}
    extra = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key
        and not f.null
        and f.column not in named
        and f.get_default() is not None
    ]
    if not extra:
        return sql, []
    columns = ", ".join(f.column for f in extra)
    values = ", ".join(["%s"] * len(extra))
    select, source = re.split(r"\bSELECT\b", rest, maxsplit=1)
    rest = f"{select}SELECT {values}, {source}"
    params = [f.get_db_prep_save(f.get_default(), connection) for f in extra]
    into, named_sql = head.split("(", 1)
    return f"{into}({columns}, {named_sql}){rest}", params


def build(incidents: int) -> None:
    from django.db import connection

    span = f"interval '{QUARTERS * 91} days'"
    rare = "CASE WHEN p.incident_id % 10000 = 7 AND k.position = 0 THEN ' The zephyrine relay wedged.' ELSE '' END"  # noqa: E501
    steps = [
        "TRUNCATE incidents_incident, search_searchentry RESTART IDENTITY CASCADE",
        f"""INSERT INTO incidents_incident (number, title, severity_id, status, started_at,
            detected_at, acknowledged_at, mitigated_at, resolved_at, customer_facing, private,
            version, created_at, team_id)
            SELECT i, {sentence("i * 7919")},
                   (SELECT id FROM incidents_severity ORDER BY level OFFSET i % 4 LIMIT 1),
                   'closed', now() - {span} * (i::float / {incidents}),
                   now() - {span} * (i::float / {incidents}) + (i % 40 + 1) * interval '1 min',
                   now() - {span} * (i::float / {incidents}) + (i % 40 + 5) * interval '1 min',
                   now() - {span} * (i::float / {incidents}) + (i % 90 + 20) * interval '1 min',
                   now() - {span} * (i::float / {incidents}) + (i % 300 + 60) * interval '1 min',
                   i % 3 = 0, i % 5 = 0, 1, now(),
                   (SELECT id FROM incidents_team ORDER BY slug OFFSET i % {TEAMS} LIMIT 1)
            FROM generate_series(1, {incidents}) AS i""",
        """INSERT INTO postmortems_postmortem (incident_id, template, status, status_reason,
            due_at, created_at)
            SELECT id, 'full', 'draft', '', resolved_at + interval '2 days', now()
            FROM incidents_incident""",
        f"""INSERT INTO postmortems_section (postmortem_id, key, title, hint, position, body,
            internal, version)
            SELECT p.id, k.key, k.title, '', k.position,
                   {sentence("p.id * 31 + k.position")} || ' ' ||
                   {sentence("p.id * 17 + k.position * 5")} || ' ' ||
                   {sentence("p.id * 13 + k.position * 3")} || {rare},
                   false, 1
            FROM postmortems_postmortem p
            CROSS JOIN (VALUES ('summary', 'Summary', 0), ('impact', 'Impact', 1),
                               ('root-cause', 'Root cause', 2)) AS k(key, title, position)""",
        f"""INSERT INTO incidents_timelineentry (incident_id, occurred_at, kind, text, source,
            version)
            SELECT i.id, i.started_at + n * interval '7 min',
                   (ARRAY['detection', 'response', 'mitigation'])[n + 1],
                   {sentence("i.id * 11 + n * 3")}, 'manual', 1
            FROM incidents_incident i CROSS JOIN generate_series(0, 2) AS n""",
        f"""INSERT INTO postmortems_cause (postmortem_id, statement, kind, position, version,
            category_id)
            SELECT p.id, {sentence("p.id * 5 + 1")}, 'primary', 0, 1,
                   (SELECT id FROM postmortems_causecategory ORDER BY position
                    OFFSET p.id % 6 LIMIT 1)
            FROM postmortems_postmortem p""",
        f"""INSERT INTO postmortems_why (cause_id, position, question, answer, evidence, version)
            SELECT c.id, 0, 'Why did it happen?', {sentence("c.id * 3 + 2")}, '', 1
            FROM postmortems_cause c""",
        """INSERT INTO actions_actionitem (incident_id, title, kind, status, position, version,
            created_at, updated_at, closed_at, outcome, priority, snooze_count, snooze_reason,
            ticket_url, wont_do_reason, worth_it, due_date)
            SELECT i.id, 'Alert before it happens again', 'corrective',
                   (ARRAY['open', 'done', 'done', 'wont_do', 'in_progress'])[1 + i.id % 5],
                   0, 1, i.resolved_at, now(),
                   CASE WHEN i.id % 5 IN (1, 2, 3)
                        THEN i.resolved_at + (i.id % 40) * interval '1 day' END,
                   CASE WHEN i.id % 5 IN (1, 2) THEN 'Shipped and checked.' ELSE '' END,
                   2, 0, '', '',
                   CASE WHEN i.id % 5 = 3 THEN 'Replaced by the new gateway.' ELSE '' END,
                   CASE WHEN i.id % 5 IN (1, 2)
                        THEN (ARRAY['yes', 'partly', 'no'])[1 + i.id % 3] ELSE '' END,
                   (i.resolved_at + interval '30 days')::date
            FROM incidents_incident i""",
    ]  # fmt: skip
    from incidents.models import Team

    for n in range(TEAMS):
        Team.objects.get_or_create(slug=f"team-{n}", defaults={"name": f"Team {n}"})
    with connection.cursor() as cursor:
        for step in steps:
            started = time.perf_counter()
            if step.startswith("INSERT INTO"):
                cursor.execute(*with_defaults(step.split()[2], step))
            else:
                cursor.execute(step)
            print(f"  {step.split()[0]} {step.split()[2]}: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    index_everything()
    print(f"  search entries: {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def index_everything() -> None:
    """What `rebuild_search_index` does (set-based, one statement per searchable kind), with
    the GIN index made once afterwards rather than kept up to date row by row."""
    from django.db import connection

    from search import indexing

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS search_entry_vector_gin")
        indexing.rebuild()
        cursor.execute(
            "CREATE INDEX search_entry_vector_gin ON search_searchentry USING gin (vector)"
        )


def timed(client, url: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered) + 0.5) - 1)]


def measure(rounds: int, skip_insights: bool = False) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from incidents.models import Incident, Team
    from insights import periods
    from search.models import SearchEntry
    from search.queries import search

    user, _ = get_user_model().objects.get_or_create(username="bench")
    on_team, _ = get_user_model().objects.get_or_create(username="bench-team")
    team = Team.objects.order_by("slug").first()
    team.members.add(on_team)
    client = Client()
    client.force_login(user)
    anonymous = Client()
    quarter = periods.quarter_of(timezone.localdate(), -1)
    in_quarter = Incident.objects.filter(
        started_at__gte=quarter.start_at, started_at__lt=quarter.end_at
    ).count()
    print(
        f"{Incident.objects.count():,} incidents ({Incident.objects.filter(private=True).count():,}"
        f" private to their team), {SearchEntry.objects.count():,} search entries; "
        f"{quarter.label} holds {in_quarter:,} incidents"
    )
    readers = [
        ("member", user, {}),  # reads every public incident, none of the private ones
        (f"on {team.name}", on_team, {}),  # and the private ones of that team
        (f"on {team.name}, that team", on_team, {"team": team.pk}),  # the team filter set
    ]
    words = [("common", "database"), ("rare", "zephyrine"), ("phrase", '"timed out"')]
    for reader_label, reader, filters in readers:
        reader_client = Client()
        reader_client.force_login(reader)
        print(f"as {reader_label}:")
        for label, q in words:
            params = {"q": q, **filters}
            timed(reader_client, "/search/", params)  # warm the cache and the plan
            times, in_sql = [], []
            for _ in range(rounds):
                with CaptureQueriesContext(connection) as queries:
                    times.append(timed(reader_client, "/search/", params))
                in_sql.append(sum(float(query["time"]) for query in queries) * 1000)
            within = Incident.objects.filter(team=team) if filters else None
            results = search(reader, q, within=within)
            found = f"more than {results.total:,}" if results.capped else f"{results.total:,}"
            print(
                f"  search {label:6} {q!r:13} {found:>15} matches  "
                f"p50 {percentile(times, 0.5):6.1f} ms  p95 {percentile(times, 0.95):6.1f} ms"
                f"  (in SQL: p50 {percentile(in_sql, 0.5):5.1f} ms)"
            )
    if skip_insights:
        return
    params = {"period": "quarter", "on": quarter.start.isoformat()}
    timed(client, "/insights/", params)
    timed(anonymous, "/login/")
    insights, login = [], []
    for _ in range(max(5, rounds // 3)):
        login.append(timed(anonymous, "/login/"))
        insights.append(timed(client, "/insights/", params))
    ratio = statistics.median(insights) / statistics.median(login)
    print(
        f"insights ({in_quarter:,} incidents) p50 {statistics.median(insights):6.1f} ms "
        f"p95 {percentile(insights, 0.95):6.1f} ms | login p50 {statistics.median(login):5.1f} ms"
        f" | ratio {ratio:.1f}x (target <= 10x)"
    )
    cpu = time.process_time()
    print(f"process CPU time {cpu:.1f} s (the machine is shared; compare with wall times)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--search-only", action="store_true", help="skip the insights figures")
    args = parser.parse_args()
    create_database(args.database_url)
    django_setup(args.database_url)
    from django.core.management import call_command

    from incidents.models import Incident

    call_command("migrate", verbosity=0)
    if Incident.objects.count() != args.incidents:
        print(f"Building {args.incidents:,} incidents with their documents ...")
        build(args.incidents)
    measure(args.rounds, args.search_only)


if __name__ == "__main__":
    main()
