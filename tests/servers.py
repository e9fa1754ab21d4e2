"""Real server processes for tests: uvicorn serving the app on the test database and Redis.

Ports come from TEST_SERVER_PORTS ("8230,8231" or "8230-8239") when set, else from the system.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def _ports() -> list[int]:
    spec = os.environ.get("TEST_SERVER_PORTS", "")
    if "-" in spec:
        low, high = spec.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(port) for port in spec.split(",") if port.strip()]


def free_port(taken: set[int] = frozenset()) -> int:
    for port in _ports():
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    database = settings.DATABASES["default"]
    return dict(
        os.environ,
        DATABASE_URL=(
            f"postgres://{database['USER'] or 'postgres'}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="tests.settings",
        **extra,
    )


class AsgiServer:
    """One uvicorn process serving the app on the test database, as production runs several
    behind a proxy."""

    def __init__(
        self, env: dict[str, str], port: int | None = None, startup_seconds: float = 90
    ) -> None:
        self.env = env
        self.port = port or free_port()
        self.startup_seconds = startup_seconds
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "uvicorn", "hindsight.asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--lifespan", "off"]
        # Open event streams never end by themselves; a restart cuts them after a second
        # instead of waiting for them, as a deploy with a short drain does.
        command += ["--log-level", "warning", "--timeout-graceful-shutdown", "1"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)
        # A loaded machine (a shared CI runner) can take well over half a minute to import the
        # app; a process that has ended will not start however long it is given.
        deadline = time.monotonic() + self.startup_seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        code = self.process.poll()
        self.stop()
        if code is None:
            pytest.fail(f"uvicorn did not start within {self.startup_seconds:.0f} seconds")
        pytest.fail(f"uvicorn exited with code {code} before it started")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


class EventStream:
    """An event stream read the way a browser's EventSource reads it."""

    def __init__(self, server: AsgiServer, path: str, cookie: str, last_event_id: str = ""):
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {"Cookie": cookie, "Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status

    def next_event(self) -> dict:
        """The next event as {"event", "id", "data"}; pings and the retry line are skipped."""
        event: dict = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode().rstrip("\n")
            if not line:
                if "event" in event:
                    return event
                event = {}
                continue
            name, _, value = line.partition(": ")
            if name == "data":
                event["data"] = json.loads(value)
            elif name in ("event", "id"):
                event[name] = value

    def until(self, wanted) -> dict:
        while True:
            event = self.next_event()
            if wanted(event):
                return event

    def close(self) -> None:
        self.connection.close()
