from __future__ import annotations

import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from tests import factories

# A Monday morning: the day the weekly review and the reminders are read on in most tests.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def people(count: int, prefix: str = "person") -> list:
    """Many people at once, in one query."""
    users = get_user_model().objects.bulk_create(
        get_user_model()(
            username=f"{prefix}{n}",
            email=f"{prefix}{n}@example.com",
            first_name=prefix.title(),
            last_name=str(n),
        )
        for n in range(count)
    )
    return list(users)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.com"


@pytest.fixture
def lead(db):
    return factories.user("lena", first_name="Lena", last_name="Hoffmann")


@pytest.fixture
def team(owner, teammate, lead):
    made = factories.team("Payments", lead=lead)
    made.members.set([owner, teammate, lead])
    return made


@pytest.fixture
def slack_server(settings):
    """A Slack incoming webhook on 127.0.0.1 that records what it is sent.

    Append HTTP status codes to `statuses` to make the next requests fail. Real webhooks
    must be https to hooks.slack.com; this stand-in is let through by a test-only setting.
    """
    settings.HINDSIGHT_SLACK_ALLOW_LOCAL_TEST_SERVER = True
    received: list[dict] = []
    statuses: list[int] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = statuses.pop(0) if statuses else 200
            received.append({"status": status, "payload": json.loads(body), "path": self.path})
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{server.server_port}/services/T000/B000/secret",
        received=received,
        statuses=statuses,
        payloads=lambda: [r["payload"] for r in received if r["status"] == 200],
    )
    server.shutdown()
    server.server_close()
