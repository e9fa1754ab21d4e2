"""Many people export the PDF at once: how many Chromium processes the server starts.

Twelve people (--people) ask for the PDF of one postmortem at the same moment; the script
counts the Chromium processes under the server while they run, and prints the answers and how
long the slowest took.

    .venv/bin/python bench/pdf_flood.py --port 8212

Uses its own database (BENCH_DATABASE, default hindsight_bench) and Redis (BENCH_REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_server import prepare  # noqa: E402
from stream_flood import serve  # noqa: E402


def export(url: str, cookie: str, answers: list) -> None:
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    answers.append((status, time.perf_counter() - started))


def chromium_count(server: psutil.Process) -> int:
    try:
        return sum("chrom" in child.name() for child in server.children(recursive=True))
    except psutil.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8212)
    parser.add_argument("--people", type=int, default=12)
    args = parser.parse_args()
    setup = prepare(editors=args.people)
    from django.db import connections

    connections.close_all()
    server = serve(args.port, os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    try:
        watched = psutil.Process(server.pid)
        url = f"http://127.0.0.1:{args.port}/incidents/{setup['ref']}/export.pdf"
        answers: list = []
        threads = [
            threading.Thread(target=export, args=(url, cookie, answers))
            for cookie in setup["cookies"]
        ]
        most = 0
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            most = max(most, chromium_count(watched))
            time.sleep(0.05)
        statuses = Counter(status for status, _ in answers)
        print(f"{args.people} PDF exports at once")
        print("answers: " + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
        print(f"most Chromium processes at one time: {most}")
        print(f"slowest answer: {max(seconds for _, seconds in answers):.1f} s")
    finally:
        server.terminate()
        server.wait(15)


if __name__ == "__main__":
    main()
