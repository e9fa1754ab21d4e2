"""One daily reminder run at scale: 1,000,000 action items, 100,000 overdue across 10,000 owners.

Builds its own PostgreSQL database with COPY (once; later runs reuse it when the sizes match),
gives half the overdue items three weeks of earlier reminders (so cadence and escalation are
read from real history), then runs `send_nags` once in a fresh process with e-mail going to
Django's locmem backend, and prints its wall time, peak memory and query count.

    .venv/bin/python bench/nags_scale.py [--items 1000000] [--overdue 100000] [--owners 10000]
                                         [--database-url postgres://.../hindsight_bench_nags]

The database's name must contain "bench": it is emptied and refilled. Targets: under 60 s and
under 500 MB, and a query count that does not grow with the number of items.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from itertools import chain
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/hindsight_bench_nags"
TEAMS = 100
INCIDENTS = 10_000
HISTORY_WEEKS = 3
# What the database was last built with (bench/results/ is not committed).
BUILT = ROOT / "bench" / "results" / "nags_scale_built.json"


def django_setup(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hindsight.settings")
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
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


def copy(model, rows) -> int:
    """COPY rows (dicts by attribute name) into the model's table; unset fields get defaults.

    Rows without an "id" let the database number them.
    """
    from django.db import connection, models
    from django.utils import timezone

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    now = timezone.now()
    fields = [
        f for f in model._meta.concrete_fields if not (f.primary_key and f.attname not in first)
    ]
    defaults = []
    for field in fields:
        auto_time = isinstance(field, models.DateTimeField) and (
            field.auto_now or field.auto_now_add
        )
        defaults.append(now if auto_time else field.get_default())
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    count = 0
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as stream:
        for row in chain([first], rows):
            stream.write_row([row.get(f.attname, d) for f, d in zip(fields, defaults, strict=True)])
            count += 1
    return count


def reset_sequences(models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(sql)
        cursor.execute("ANALYZE")


def build(items: int, overdue: int, owners: int) -> None:
    """Empty the app's tables and fill them: people, teams, incidents, postmortems, items."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from actions.models import ActionItem, ReviewMeeting
    from incidents.models import Incident, Severity, Team
    from postmortems.models import Postmortem

    user_model = get_user_model()
    now = timezone.now()
    today = timezone.localdate()
    tables = [ActionItem, ReviewMeeting, Postmortem, Incident, Team, user_model]
    with connection.cursor() as cursor:
        names = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in tables)
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    severities = dict(Severity.objects.values_list("level", "pk"))

    copy(
        user_model,
        (
            {
                "id": n,
                "username": f"owner{n}",
                "email": f"owner{n}@example.com",
                "first_name": "Owner",
                "last_name": str(n),
                "password": "!",
                "is_active": True,
                "date_joined": now,
            }
            for n in range(1, owners + 1)
        ),
    )
    copy(
        Team,
        (
            {
                "id": t,
                "name": f"Team {t}",
                "slug": f"team-{t}",
                "lead_id": (t * (owners // TEAMS)) % owners + 1,
            }
            for t in range(1, TEAMS + 1)
        ),
    )
    started = now - timedelta(days=60)
    copy(
        Incident,
        (
            {
                "id": i,
                "number": i,
                "title": f"Incident {i}",
                "severity_id": severities[i % 4 + 1],
                "status": "resolved",
                "started_at": started,
                "resolved_at": started + timedelta(hours=3),
                "owner_id": i % owners + 1,
                "team_id": i % TEAMS + 1,
                "created_at": started,
            }
            for i in range(1, INCIDENTS + 1)
        ),
    )
    # One in a hundred postmortems is still a draft past its due date, and has no meeting.
    copy(
        Postmortem,
        (
            {
                "id": i,
                "incident_id": i,
                "template": "full",
                "status": "draft" if i % 100 == 0 else "published",
                "due_at": started + timedelta(days=2),
                "created_at": started,
            }
            for i in range(1, INCIDENTS + 1)
        ),
    )
    copy(
        ReviewMeeting,
        (
            {"incident_id": i, "held_on": (started + timedelta(days=4)).date(), "created_at": now}
            for i in range(1, INCIDENTS + 1)
            if i % 100
        ),
    )

    def action_items():
        for k in range(items):
            row = {
                "id": k + 1,
                "incident_id": k % INCIDENTS + 1,
                "title": f"Action item {k}",
                "priority": k % 3 + 1,
                "team_id": (k % TEAMS + 1) if k % 2 else None,
            }
            if k < overdue:  # spread evenly: every owner has overdue / owners of them
                row |= {
                    "owner_id": k % owners + 1,
                    "status": ("open", "in_progress")[k % 2],
                    "due_date": today - timedelta(days=1 + k % 30),
                }
            elif k % 5 < 3:
                closed = now - timedelta(days=k % 90)
                row |= {
                    "owner_id": k % owners + 1,
                    "status": "done",
                    "outcome": "Shipped",
                    "worth_it": "yes",
                    "closed_at": closed,
                    "due_date": closed.date(),
                }
            else:
                row |= {
                    "owner_id": (k % owners + 1) if k % 13 else None,
                    "status": "open",
                    "due_date": today + timedelta(days=1 + k % 90),
                }
            yield row

    copy(ActionItem, action_items())
    reset_sequences(tables)


def reset_reminders(overdue: int, owners: int) -> None:
    """Earlier reminders: half the overdue items were reminded weekly for three weeks."""
    from django.db import connection
    from django.utils import timezone

    from actions.models import Nag, NagLine
    from kernel.models import Delivery

    today = timezone.localdate()
    with connection.cursor() as cursor:
        names = ", ".join(
            connection.ops.quote_name(m._meta.db_table) for m in (Delivery, NagLine, Nag)
        )
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    run = uuid.uuid4()
    periods = [today - timedelta(days=7 * week) for week in range(1, HISTORY_WEEKS + 1)]
    copy(
        Nag,
        (
            {"id": w * owners + n, "recipient_id": n, "period": period, "run": run}
            for w, period in enumerate(periods)
            for n in range(1, owners + 1)
        ),
    )
    copy(
        NagLine,
        (
            {
                "nag_id": w * owners + k % owners + 1,
                "reason": "overdue",
                "action_item_id": k + 1,
                "period": period,
                "days_late": 7,
            }
            for w, period in enumerate(periods)
            for k in range(0, overdue, 2)
        ),
    )
    reset_sequences([Nag, NagLine])


def measure() -> dict:
    """One send_nags run in this (fresh) process, counting every statement sent."""
    from django.core import mail
    from django.db import connection

    from actions.nags import send_nags

    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        report = send_nags()
    wall = time.perf_counter() - started
    return {
        "wall_seconds": round(wall, 1),
        # The machine may be shared: this process's own CPU time says what the run cost it.
        "cpu_seconds": round(time.process_time() - cpu_started, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "mb_before_run": round(before),
        "queries": statements,
        "people_reminded": report.reminded,
        "lines": report.lines,
        "emails_in_outbox": len(mail.outbox),
        "copied_emails": sum(1 for message in mail.outbox if message.cc),
        "sent": report.sent,
        "failed": report.failed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        django_setup(args.database_url)
        print(json.dumps(measure()))
        return

    create_database(args.database_url)
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_DEBUG": "false"}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    django_setup(args.database_url)
    from django.utils import timezone

    # Due dates are relative to the day the data was built: rebuild on another day.
    wanted = {
        "items": args.items,
        "overdue": args.overdue,
        "owners": args.owners,
        "database": args.database_url,
        "day": timezone.localdate().isoformat(),
    }
    if not BUILT.exists() or json.loads(BUILT.read_text()) != wanted:
        started = time.perf_counter()
        build(args.items, args.overdue, args.owners)
        BUILT.parent.mkdir(exist_ok=True)
        BUILT.write_text(json.dumps(wanted))
        print(
            f"Built {args.items:,} action items ({args.overdue:,} overdue, {args.owners:,} "
            f"owners) in {time.perf_counter() - started:.0f} s"
        )
    reset_reminders(args.overdue, args.owners)

    result = subprocess.run(
        [sys.executable, __file__, "--measure", "--database-url", args.database_url],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"send_nags over {args.items:,} action items, {args.overdue:,} overdue, "
        f"{args.owners:,} owners ({datetime.now():%Y-%m-%d %H:%M}):"
    )
    print(
        f"  wall time    {figures['wall_seconds']} s ({figures['cpu_seconds']} s of CPU in Python)"
    )
    print(
        f"  peak memory  {figures['peak_mb']} MB "
        f"(of which {figures['mb_before_run']} MB before the run: Python and Django)"
    )
    print(f"  queries      {figures['queries']}")
    print(
        f"  reminded     {figures['people_reminded']:,} people about {figures['lines']:,} "
        f"items; {figures['emails_in_outbox']:,} e-mails in the outbox "
        f"({figures['copied_emails']:,} copying a lead), {figures['failed']} failed"
    )


if __name__ == "__main__":
    main()
