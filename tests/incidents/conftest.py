from __future__ import annotations

import hashlib
import hmac
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace

import pytest

from incidents.models import TeamWebhook
from tests import factories

# The Slack webhook on 127.0.0.1 that the reminder tests also use.
from tests.actions.conftest import slack_server  # noqa: F401


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Receiver(SimpleNamespace):
    """A team's endpoint on 127.0.0.1 checking each signature the way the README says to."""


def _valid(secret: str, header: str, body: bytes) -> bool:
    # Written from the README's description, not with Hindsight's own helper, so that a
    # change in how Hindsight signs shows up here as a refused message.
    parts = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


@pytest.fixture
def receiver(settings):
    """Records every POST; answers 401 to a bad signature, else the next of `statuses` or 200."""
    settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER = True
    received: list[dict] = []
    statuses: list[int] = []
    state = Receiver(secret="", received=received, statuses=statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = _valid(
                state.secret, self.headers.get("X-Hindsight-Signature", "t=0,v1="), body
            )
            status = 401 if not signed else (statuses.pop(0) if statuses else 200)
            received.append(
                {
                    "status": status,
                    "signed": signed,
                    "headers": dict(self.headers),
                    "payload": json.loads(body),
                    "path": self.path,
                }
            )
            self.send_response(status)
            if status in (301, 302):
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/hindsight"
    state.events = lambda: [r["payload"]["event"] for r in received if r["status"] == 200]
    state.payloads = lambda: [r["payload"] for r in received if r["status"] == 200]
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def lead(db):
    return factories.user("lena", first_name="Lena", last_name="Hoffmann")


@pytest.fixture
def team(owner, teammate, lead):
    made = factories.team("Payments", lead=lead)
    made.members.set([owner, teammate, lead])
    return made


def webhook(team, receiver, events: list[str], **fields) -> TeamWebhook:
    hook = TeamWebhook.objects.create(
        team=team, url=receiver.url, events=events, secret="whsec_test_secret", **fields
    )
    receiver.secret = hook.secret
    return hook
