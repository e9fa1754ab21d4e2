"""One client opens many event streams at once: how many the server takes, and what it costs.

Opens --streams stream requests together (a stakeholder link's `/s/<token>/events/`, or with
--signed-in one person's `/incidents/<ref>/events/`), keeps every accepted one open, then times
`/healthz` while they are held and prints the answers by status, the server's threads and memory.

    .venv/bin/python bench/stream_flood.py --port 8210 --streams 1000

Uses its own database (BENCH_DATABASE, default hindsight_bench) and Redis (BENCH_REDIS_URL).
Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_server import ROOT, prepare  # noqa: E402


def serve(port: int, database_url: str, redis_url: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DATABASE_POOL="true",
        DJANGO_SETTINGS_MODULE="hindsight.settings",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "ERROR"),
    )
    command = [sys.executable, "-m", "uvicorn", "hindsight.asgi:application"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"]
    command += ["--log-level", "warning", "--limit-concurrency", "4000", "--backlog", "4096"]
    command += ["--timeout-graceful-shutdown", "1", "--no-access-log"]
    process = subprocess.Popen(command, cwd=os.environ.get("BENCH_APP_DIR", ROOT), env=env)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("uvicorn did not start")


async def open_stream(port: int, path: str, cookie: str) -> tuple[str, object]:
    """Send the request and read the status line; keep the connection when it is a 200."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        if cookie:
            request += f"Cookie: {cookie}\r\n"
        writer.write((request + "\r\n").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 60)
    except (OSError, TimeoutError) as error:
        return f"error {type(error).__name__}", None
    status = status_line.split(b" ")[1].decode() if status_line.count(b" ") >= 1 else "none"
    if status != "200":
        writer.close()
        return status, None
    return status, writer


def process_figures(pid: int) -> tuple[int, float]:
    """Threads and resident memory (MiB) of the server process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def healthz_seconds(port: int, until: threading.Event | float) -> list[float]:
    """Time /healthz every 0.2 s until the event is set, or for that many seconds."""
    if not isinstance(until, threading.Event):
        seconds, until = until, threading.Event()
        threading.Timer(seconds, until.set).start()
    timings = []
    while not until.is_set():
        start = time.perf_counter()
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=120).read()
        timings.append(time.perf_counter() - start)
        time.sleep(0.2)
    return timings


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {ordered[-1] * 1000:.0f} ms ({len(ordered)} requests)"
    )


async def flood(args, path: str, cookie: str, pid: int) -> None:
    idle_threads, idle_rss = process_figures(pid)
    baseline = await asyncio.to_thread(healthz_seconds, args.port, 3.0)
    opening = threading.Event()
    during = asyncio.create_task(asyncio.to_thread(healthz_seconds, args.port, opening))
    start = time.perf_counter()
    answers = await asyncio.gather(
        *(open_stream(args.port, path, cookie) for _ in range(args.streams))
    )
    opened_in = time.perf_counter() - start
    opening.set()
    during = await during
    # Long enough for every held stream to ping (and check its link) at least once.
    held = await asyncio.to_thread(healthz_seconds, args.port, 20.0)
    threads, rss = process_figures(pid)
    counts = Counter(status for status, _ in answers)
    print(f"{args.streams} stream attempts on {path.split('/')[1]}/…/events/ in {opened_in:.1f} s")
    print("answers: " + ", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
    print(f"server threads: {idle_threads} idle → {threads} holding the streams")
    print(f"server RSS: {idle_rss:.0f} MiB idle → {rss:.0f} MiB holding the streams")
    print(f"/healthz idle:               {summary(baseline)}")
    print(f"/healthz while opening:      {summary(during)}")
    print(f"/healthz while held (20 s):  {summary(held)}")
    for _, writer in answers:
        if writer is not None:
            writer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8210)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--signed-in", action="store_true", help="one person, not a link")
    args = parser.parse_args()
    setup = prepare(editors=1)
    from postmortems.models import Postmortem
    from postmortems.share_links import share_link_create

    postmortem = Postmortem.objects.get()  # the only one in the fresh database
    _, token = share_link_create(
        postmortem=postmortem, label="Everyone", user=postmortem.incident.owner, share_draft=True
    )
    if args.signed_in:
        path, cookie = f"/incidents/{setup['ref']}/events/", setup["cookies"][0]
    else:
        path, cookie = f"/s/{token}/events/", ""
    from django.db import connections

    connections.close_all()
    server = serve(args.port, os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    try:
        asyncio.run(flood(args, path, cookie, server.pid))
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
