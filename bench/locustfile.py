"""A war room under load: 20 people typing into one postmortem while 500 more watch it.

Writers type into sections (autosave, each writer its own paragraph, so their saves merge) and
into their own timeline entries (the block form), through the real endpoints with CSRF. Readers
load the document page, hold its event stream open (reconnecting with Last-Event-ID when it
ends, as the page does), and reload the page now and then. At the end it prints p95 per request
type, the errors, and the server's memory (RSS, every worker summed) at start, middle and end.

    .venv/bin/python bench/locustfile.py --port 8220 --minutes 5

prepares its own database (BENCH_DATABASE, default hindsight_bench; Redis BENCH_REDIS_URL),
starts uvicorn with --workers 2 on the port, and runs locust headless against it. The locust
command line alone (`locust -f bench/locustfile.py`) needs LOAD_SETUP (the JSON the script writes)
and SERVER_PID (for the memory figures).
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
from pathlib import Path

WRITERS = int(os.environ.get("LOAD_WRITERS", 20))
READERS = int(os.environ.get("LOAD_READERS", 500))
SETUP = Path(os.environ.get("LOAD_SETUP", "/tmp/hindsight-load-setup.json"))


# --- the scenario (runs under locust) ---------------------------------------------------------

if __name__ != "__main__":
    import gevent
    import psutil
    from locust import FastHttpUser, between, events, task

    setup = json.loads(SETUP.read_text()) if SETUP.exists() else None
    samples: list[tuple[float, float]] = []
    writer_numbers = iter(range(10**6))
    reader_numbers = iter(range(10**6))

    def load_page(user: FastHttpUser, cookie: str) -> None:
        """The document page, as a person opens it; a bounce to the login page is an error."""
        url = f"/incidents/{setup['ref']}/"
        with user.client.get(
            url, headers={"Cookie": cookie}, name="page", catch_response=True
        ) as response:
            if response.status_code != 200 or "/login/" in (response.url or ""):
                response.failure(f"{response.status_code} at {response.url}")

    def fire(environment, kind: str, name: str, started: float, error: Exception | None = None):
        environment.events.request.fire(
            request_type=kind,
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    class Writer(FastHttpUser):
        """Types a few characters, pauses as people do, and the page saves what was typed."""

        weight = WRITERS
        fixed_count = WRITERS
        wait_time = between(1.0, 3.0)

        def on_start(self) -> None:
            self.me = setup["writers"][next(writer_numbers) % WRITERS]
            self.headers = {
                "Cookie": self.me["cookie"],
                "X-CSRFToken": setup["csrf"],
                "HX-Request": "true",
            }
            self.section = self.me["section"]
            self.paragraph = self.me["paragraph"]
            self.section_text = setup["sections"][str(self.section)]
            self.section_version = None
            self.entry_version = 1
            self.entry_text = "Noted:"
            load_page(self, self.me["cookie"])

        @task(4)
        def type_into_section(self) -> None:
            paragraphs = self.section_text.split("\n\n")
            paragraphs[self.paragraph] += random.choice([" the pool", " ran dry", " we", " ok"])
            text = "\n\n".join(paragraphs)
            url = f"/incidents/{setup['ref']}/section/{self.section}/autosave/"
            with self.client.post(
                url,
                data={"body": text, "base_version": self.section_version or 1},
                headers=self.headers,
                name="autosave section",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    answer = response.json()
                    self.section_text, self.section_version = answer["text"], answer["version"]
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")

        @task(1)
        def save_timeline_entry(self) -> None:
            self.entry_text += random.choice([" paged", " rolled back", " mitigated"])
            url = f"/incidents/{setup['ref']}/entry/{self.me['entry']}/"
            with self.client.post(
                url,
                data={
                    "occurred_at": setup["occurred_at"],
                    "kind": "note",
                    "text": self.entry_text[-900:],
                    "base_version": self.entry_version,
                },
                headers=self.headers,
                name="save timeline entry",
                catch_response=True,
            ) as response:
                if response.status_code == 200:
                    self.entry_version += 1
                else:
                    response.failure(f"{response.status_code}: {response.text[:200]}")

    class Reader(FastHttpUser):
        """Holds the document open: its event stream, and a reload now and then."""

        weight = READERS
        fixed_count = READERS
        wait_time = between(45, 75)

        def on_start(self) -> None:
            self.cookie = setup["readers"][next(reader_numbers) % READERS]
            self.last_id = ""
            load_page(self, self.cookie)
            self.listening = gevent.spawn(self.listen)

        def on_stop(self) -> None:
            self.listening.kill(block=False)

        def listen(self) -> None:
            """The page's EventSource, on a socket of its own; reconnects as a browser does."""
            host, port = setup["host"], setup["port"]
            path = f"/incidents/{setup['ref']}/events/"
            while True:
                started = time.perf_counter()
                try:
                    with socket.create_connection((host, port), timeout=60) as sock:
                        request = (
                            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {self.cookie}\r\n"
                        )
                        if self.last_id:
                            request += f"Last-Event-ID: {self.last_id}\r\n"
                        sock.sendall((request + "Accept: text/event-stream\r\n\r\n").encode())
                        stream = sock.makefile("rb")
                        status = stream.readline().split(b" ")[1]
                        if status != b"200":
                            raise ConnectionError(f"event stream answered {status.decode()}")
                        name = "events: reconnect" if self.last_id else "events: connect"
                        first_event = True
                        for line in stream:
                            if line.startswith(b"id: "):
                                self.last_id = line[4:].strip().decode()
                            elif line.startswith(b"event: ready") and first_event:
                                fire(self.environment, "SSE", name, started)
                                first_event = False
                            elif line.startswith(b"event: change"):
                                received_events[0] += 1
                except (OSError, ConnectionError, IndexError) as error:
                    fire(self.environment, "SSE", "events: connect", started, error)
                    gevent.sleep(3)
                    continue
                gevent.sleep(3)  # the stream ended (dropped): retry as the page's "retry: 3000"

        @task
        def reload(self) -> None:
            load_page(self, self.cookie)

    received_events = [0]

    def sample_memory(environment) -> None:
        pid = int(os.environ.get("SERVER_PID", "0"))
        if not pid:
            return
        server = psutil.Process(pid)
        while True:
            processes = [server, *server.children(recursive=True)]
            rss = sum(process.memory_info().rss for process in processes) / 2**20
            samples.append((time.time(), rss))
            gevent.sleep(5)

    @events.test_start.add_listener
    def on_test_start(environment, **kwargs) -> None:
        gevent.spawn(sample_memory, environment)

    @events.quitting.add_listener
    def on_quitting(environment, **kwargs) -> None:
        stats = environment.runner.stats
        print("\n=== summary ===")
        print(f"{'type':<24}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for entry in sorted(stats.entries.values(), key=lambda e: e.name):
            print(
                f"{entry.name:<24}{entry.num_requests:>10}{entry.num_failures:>8}"
                f"{entry.get_response_time_percentile(0.5):>9.0f}"
                f"{entry.get_response_time_percentile(0.95):>9.0f}{entry.max_response_time:>9.0f}"
            )
        total = stats.total
        print(f"all: {total.num_requests} requests, {total.num_failures} errors")
        print(f"change events received by the readers: {received_events[0]}")
        for error in stats.errors.values():
            print(f"error ×{error.occurrences}: {error.method} {error.name}: {error.error}")
        if samples:
            start, middle, end = samples[0], samples[len(samples) // 2], samples[-1]
            print(
                f"server RSS (all workers): start {start[1]:.0f} MiB, middle {middle[1]:.0f} "
                f"MiB, end {end[1]:.0f} MiB ({len(samples)} samples, every 5 s)"
            )


# --- preparing and running (a plain script) ---------------------------------------------------


def prepare(port: int) -> dict:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from live_server import CSRF
    from live_server import prepare as prepare_bench

    base = prepare_bench(editors=WRITERS)
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils import timezone

    from incidents.models import Incident
    from postmortems.models import Section
    from tests import factories

    incident = Incident.objects.get()
    users = list(get_user_model().objects.order_by("pk"))
    sections = list(Section.objects.filter(postmortem__incident=incident).order_by("pk"))[:10]
    texts = {}
    for section in sections:
        # Two writers per section, each typing in a paragraph of their own: their saves merge.
        section.body = "First writer:\n\nSecond writer:"
        section.version = 1
        section.save()
        texts[str(section.pk)] = section.body
    writers = []
    for number, (user, cookie) in enumerate(zip(users, base["cookies"], strict=True)):
        entry = factories.timeline_entry(incident, minutes=number, text="Noted:", user=user)
        writers.append(
            {
                "cookie": cookie,
                "section": sections[number % len(sections)].pk,
                "paragraph": number // len(sections) % 2,
                "entry": entry.pk,
            }
        )
    readers = []
    for number in range(READERS):
        user = get_user_model().objects.create_user(f"reader{number}", first_name="Reader")
        session = SessionStore()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "incidents.sign_in.PasswordBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        readers.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    occurred = timezone.localtime(incident.started_at, timezone.get_current_timezone())
    return {
        "ref": base["ref"],
        "csrf": CSRF,
        "host": "127.0.0.1",
        "port": port,
        "writers": writers,
        "readers": readers,
        "sections": texts,
        "occurred_at": occurred.strftime("%Y-%m-%d %H:%M"),
    }


def main() -> None:
    import argparse
    import subprocess
    import sys
    import urllib.request

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8220)
    parser.add_argument("--minutes", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    SETUP.write_text(json.dumps(prepare(args.port)))
    from django.db import connections

    connections.close_all()
    root = Path(__file__).resolve().parents[1]
    env = dict(
        os.environ,
        DATABASE_POOL="true",
        DJANGO_SETTINGS_MODULE="hindsight.settings",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
    )
    command = [sys.executable, "-m", "uvicorn", "hindsight.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(args.port), "--lifespan", "off"]
    command += ["--workers", str(args.workers), "--log-level", "warning", "--no-access-log"]
    command += ["--timeout-graceful-shutdown", "1", "--backlog", "2048"]
    log = Path(os.environ.get("BENCH_SERVER_LOG", "/tmp/hindsight-load-server.log"))
    server = subprocess.Popen(
        command, cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    print(f"server log: {log}")
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        users = WRITERS + READERS
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                __file__,
                "--headless",
                "--host",
                f"http://127.0.0.1:{args.port}",
                "--users",
                str(users),
                "--spawn-rate",
                "10",
                "--run-time",
                f"{int(args.minutes * 60)}s",
                "--stop-timeout",
                "5",
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=dict(os.environ, LOAD_SETUP=str(SETUP), SERVER_PID=str(server.pid)),
            check=False,
        )
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
