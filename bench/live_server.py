"""Shared set-up for the live benchmarks: a fresh database, people, a document, uvicorn.

Not a benchmark itself. Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE = os.environ.get("BENCH_DATABASE", "hindsight_bench")
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CSRF = "benchcsrftoken0123456789abcdefgh"  # 32 characters: a valid unmasked CSRF secret


def free_port() -> int:
    """BENCH_PORT when set (a shared machine hands out port ranges), else any free port."""
    if os.environ.get("BENCH_PORT"):
        return int(os.environ["BENCH_PORT"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(editors: int) -> dict:
    """Recreate the bench database and return the document's ref and logged-in cookies."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ.update(DATABASE_URL=DATABASE_URL, REDIS_URL=REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hindsight.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from incidents.models import Incident, Severity
    from incidents.opening import incident_open

    call_command("migrate", verbosity=0)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    users = [
        get_user_model().objects.create_user(f"editor{n}", first_name="Editor", last_name=str(n))
        for n in range(editors)
    ]
    incident = incident_open(
        incident=Incident(
            title="Benchmark", severity=Severity.objects.get(level=1), owner=users[0]
        ),
        user=users[0],
    )
    cookies = []
    for user in users:
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "incidents.sign_in.PasswordBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={CSRF}")
    section = incident.postmortem.sections.get(key="summary")
    return {"ref": incident.ref, "section": section.pk, "cookies": cookies}


@contextmanager
def uvicorn(port: int | None = None):
    port = port or free_port()
    # As deployed: a connection pool, so a burst of connecting pages waits instead of failing.
    env = dict(
        os.environ,
        DATABASE_URL=DATABASE_URL,
        REDIS_URL=REDIS_URL,
        DATABASE_POOL="true",
        DJANGO_SETTINGS_MODULE="hindsight.settings",
        LOG_LEVEL="ERROR",
        # The bench's open pages share a few accounts, where a war room has one per person: the
        # per-account stream cap would refuse all but the first twenty.
        HINDSIGHT_STREAMS_PER_USER="100000",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hindsight.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
            "--limit-concurrency",
            "2000",
            "--backlog",
            "2048",
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # A busy machine can take a while to import Django: wait for it, up to a minute.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(30)  # open streams and several workers take a moment to close
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
