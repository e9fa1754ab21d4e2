"""Share-link tokens never reach a log: a real uvicorn, serving the way `make run` and the
container do, is asked for stakeholder pages, and its whole output is read afterwards."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

from hindsight.logs import RedactShareTokens
from postmortems.share_links import share_link_create
from tests import factories

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_uvicorns_logs_show_the_share_path_without_its_token(tmp_path):
    owner = factories.user("priya")
    incident = factories.incident(owner=owner)
    _, token = share_link_create(
        postmortem=incident.postmortem, label="Support", user=owner, share_draft=True
    )
    unknown = "made-up-token-that-matches-no-link-0123456789"
    port = free_port()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=(
            f"postgres://{connection.settings_dict['USER']}@{connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"
        ),
        DJANGO_SETTINGS_MODULE="hindsight.settings",
        DJANGO_DEBUG="true",
    )
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
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
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.2)
            assert httpx.get(f"{base}/s/{token}/").status_code == 200
            assert httpx.get(f"{base}/s/{token}/content/?seen=x").status_code == 200
            assert httpx.get(f"{base}/s/{unknown}/").status_code == 404
        finally:
            server.terminate()
            server.wait(timeout=10)

    written = log.read_text()
    assert token not in written
    assert unknown not in written
    assert '"GET /s/[redacted]/ HTTP/1.1" 200' in written
    assert '"GET /s/[redacted]/content/?seen=x HTTP/1.1" 200' in written
    assert '"GET /s/[redacted]/ HTTP/1.1" 404' in written
    assert "Not Found: /s/[redacted]/" in written
    assert '"GET /healthz HTTP/1.1" 200' in written


def test_the_filter_redacts_arguments_and_messages():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /s/abc123/ HTTP/1.1", 200),
        None,
    )
    RedactShareTokens().filter(record)
    assert record.getMessage() == '"GET /s/[redacted]/ HTTP/1.1" 200'

    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: /s/abc123/content/", (), None
    )
    RedactShareTokens().filter(record)
    assert record.getMessage() == "Not Found: /s/[redacted]/content/"
