"""A real Celery worker, fed through Redis, runs the daily reminder task."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from actions.tasks import send_nags
from kernel.models import Delivery
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, for a worker in another process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A worker process on a queue of its own, with its log in a file."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("This test needs Redis: set REDIS_URL (make test sets it).")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "HINDSIGHT_DELIVERY_RETRY_SECONDS": "0",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "hindsight",
        "worker",
        "--pool=solo",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-Q",
        queue,
        "--loglevel=INFO",
        "--hostname",
        f"{queue}@localhost",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"The Celery worker did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield queue, log
    finally:
        process.terminate()
        process.wait(timeout=30)
        broker = redis.Redis.from_url(redis_url)
        leftovers = list(broker.scan_iter(f"*{queue}*"))
        if leftovers:
            broker.delete(*leftovers)


def test_a_worker_runs_the_task_sent_through_redis(worker, owner, incident):
    queue, log = worker
    factories.action_item(
        incident,
        owner=owner,
        title="Alert on pool usage",
        due_date=timezone.localdate() - timedelta(days=3),
    )

    send_nags.apply_async(queue=queue)

    deadline = time.monotonic() + 60
    while not Delivery.objects.filter(status="sent").exists():
        assert time.monotonic() < deadline, f"Nothing was sent:\n{log.read_text()}"
        time.sleep(0.2)
    deadline = time.monotonic() + 10
    while "succeeded" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    output = log.read_text()
    assert "Task actions.tasks.send_nags[" in output
    assert "1 people reminded about 1 things; 1 messages sent, 0 failed" in output
    assert "Subject: Hindsight: 1 overdue action item" in output
    assert "To: priya@example.com" in output
    assert "Alert on pool usage" in output
    delivery = Delivery.objects.get()
    assert (delivery.topic, delivery.address["to"], delivery.attempts) == (
        "reminder",
        [owner.email],
        1,
    )
