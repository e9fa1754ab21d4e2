"""`make run`: pick the database and bus, migrate, load the demo data, serve with uvicorn.

With DATABASE_URL / REDIS_URL set they are used. Otherwise a PostgreSQL or Redis answering on
its default local port is used, and with neither the app runs on a SQLite file under var/ and an
in-process bus. HINDSIGHT_EMBEDDED=1 chooses that embedded default even where PostgreSQL and
Redis run. HINDSIGHT_PORT serves on another port than 8000. Uvicorn's access log shows share
links as /s/[redacted]/: LOGGING in the settings takes over its loggers as the app loads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from hindsight.env import envbool, envint

HOST = "127.0.0.1"
LOCAL_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hindsight"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def local_postgres_database() -> str | None:
    """The local PostgreSQL's `hindsight` database, created if missing; None if unusable."""
    import psycopg

    try:
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=2
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = 'hindsight'"
            ).fetchone()
            if not exists:
                conn.execute("CREATE DATABASE hindsight")
        return LOCAL_DATABASE_URL
    except psycopg.Error as error:
        print(f"PostgreSQL answers on 5432 but cannot be used ({error}); using SQLite.")
        return None


def choose_services(env: dict[str, str]) -> None:
    if envbool("HINDSIGHT_EMBEDDED", False):
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        return
    if not env.get("DATABASE_URL") and answers(5432):
        url = local_postgres_database()
        if url:
            env["DATABASE_URL"] = url
    if not env.get("REDIS_URL") and answers(6379):
        env["REDIS_URL"] = LOCAL_REDIS_URL


def describe(env: dict[str, str]) -> tuple[str, str]:
    database = env.get("DATABASE_URL") or "SQLite file var/hindsight.sqlite3 (embedded default)"
    bus = (
        f"Redis pub/sub at {env['REDIS_URL']}"
        if env.get("REDIS_URL")
        else "in-process (embedded default: one server process)"
    )
    return database, bus


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], env=env, check=True)


def main() -> None:
    port = envint("HINDSIGHT_PORT", 8000)
    if answers(port):
        sys.exit(f"Port {port} is taken by another program; try HINDSIGHT_PORT={port + 1} make run")
    env = dict(os.environ)
    env.setdefault("DJANGO_DEBUG", "true")
    choose_services(env)
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("seed_demo", env=env)
    database, bus = describe(env)
    print()
    print(f"  Hindsight is at  http://{HOST}:{port}/")
    print("  Log in as        demo / demo")
    print(f"  Database         {database}")
    print(f"  Live-update bus  {bus}")
    print()
    sys.stdout.flush()
    os.execvpe(
        sys.executable,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "hindsight.asgi:application",
            "--host",
            HOST,
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        env,
    )


if __name__ == "__main__":
    main()
