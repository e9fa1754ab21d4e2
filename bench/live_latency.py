"""How fast a save reaches every open page: one editor saving, N event streams listening.

Prints p50 / p95 / p99 of the time from a save sent to the saved block's new HTML being in every
open page (the event carrying it, or the page's request for it when the event does not), for
50 and 500 open pages, and in the same run the floor: a bare Redis publish-to-subscriber round
trip and a bare HTTP request to the same server. `--processes 4 --subscribers 2000` spreads 2,000
pages over four uvicorn processes, each on its own port (BENCH_PORT and the three after it).

    .venv/bin/python bench/live_latency.py [--saves 200] [--subscribers 50,500] [--processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import time

import httpx
import redis.asyncio as aioredis
from live_server import CSRF, REDIS_URL, free_port, percentile, prepare, uvicorn

logging.getLogger("httpx").setLevel(logging.WARNING)


VERSION = re.compile(rb'"version": (\d+)')


async def subscriber(
    port: int, path: str, cookie: str, arrivals: dict, opened: list, fetch
) -> None:
    """One open page: when it holds the saved section's new HTML, that is an arrival.

    An event that carries the HTML is the arrival; one that does not makes the page ask for
    the block (as the page script does then), and the answer is the arrival.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    event = b""
    fetches = set()
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line.startswith(b"event:"):
                event = line[6:].strip()
                if event == b"ready":
                    opened.append(1)
            elif line.startswith(b"data:") and event == b"change":
                # Read as little as a page would to know what arrived: which version of which
                # kind, and whether the HTML came with it.
                match = VERSION.search(line)
                if not match or b'"kind": "section"' not in line:
                    continue
                version = int(match.group(1))
                if b'"html": "' in line:
                    arrivals.setdefault(version, []).append(time.perf_counter())
                else:
                    task = asyncio.create_task(fetch(version, arrivals))
                    fetches.add(task)
                    task.add_done_callback(fetches.discard)
    finally:
        writer.close()


async def run(
    saves: int, count: int, setup: dict, url: str, ports: list[int], pause: float
) -> dict:
    ref, section = setup["ref"], setup["section"]
    arrivals: dict[int, list[float]] = {}
    opened: list[int] = []
    pages = httpx.AsyncClient(
        base_url=url,
        headers={"Cookie": setup["cookies"][0]},
        limits=httpx.Limits(max_connections=count),
        timeout=60,
    )

    async def fetch(version: int, arrivals: dict) -> None:
        response = await pages.get(f"/incidents/{ref}/section/{section}/")
        if response.status_code == 200:
            arrivals.setdefault(version, []).append(time.perf_counter())

    tasks = []
    for n in range(count):
        tasks.append(
            asyncio.create_task(
                subscriber(
                    ports[n % len(ports)],
                    f"/incidents/{ref}/events/",
                    setup["cookies"][0],
                    arrivals,
                    opened,
                    fetch,
                )
            )
        )
        if n % 100 == 99:
            await asyncio.sleep(0.2)  # pages open over a moment, not in one burst
    for _ in range(1200):
        if len(opened) >= count:
            break
        await asyncio.sleep(0.05)
    acked: dict[int, float] = {}
    sent: dict[int, float] = {}
    async with httpx.AsyncClient(
        base_url=url,
        headers={
            "Cookie": setup["cookies"][0],
            "X-CSRFToken": CSRF,
            "Referer": url,
        },
        timeout=60,
    ) as client:
        version = (
            await client.post(
                f"/incidents/{ref}/section/{section}/autosave/",
                data={"body": "warm up", "base_version": 1},
            )
        ).json()["version"]
        for n in range(saves):
            started = time.perf_counter()
            response = await client.post(
                f"/incidents/{ref}/section/{section}/autosave/",
                data={"body": f"Save number {n}", "base_version": version},
            )
            done = time.perf_counter()
            version = response.json()["version"]
            sent[version], acked[version] = started, done
            await asyncio.sleep(pause)
    await asyncio.sleep(2.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await pages.aclose()
    from_ack, from_send, missing = [], [], 0
    for version, ack in acked.items():
        times = arrivals.get(version, [])
        missing += count - len(times)
        from_ack += [(t - ack) * 1000 for t in times]
        from_send += [(t - sent[version]) * 1000 for t in times]
    return {"opened": len(opened), "from_ack": from_ack, "from_send": from_send, "missing": missing}


async def redis_floor(rounds: int = 200) -> list[float]:
    publisher = aioredis.Redis.from_url(REDIS_URL)
    listener = aioredis.Redis.from_url(REDIS_URL)
    pubsub = listener.pubsub()
    await pubsub.subscribe("bench:floor")
    await pubsub.get_message(timeout=1)
    timings = []
    for n in range(rounds):
        started = time.perf_counter()
        await publisher.publish("bench:floor", str(n))
        while True:
            message = await pubsub.get_message(timeout=1)
            if message and message["type"] == "message":
                break
        timings.append((time.perf_counter() - started) * 1000)
    await pubsub.aclose()
    await publisher.aclose()
    await listener.aclose()
    return timings


async def http_floor(url: str, rounds: int = 200) -> list[float]:
    timings = []
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(rounds):
            started = time.perf_counter()
            await client.get("/healthz")
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def line(label: str, values: list[float]) -> str:
    return (
        f"  {label:<38} p50 {percentile(values, 50):7.1f} ms   p95 "
        f"{percentile(values, 95):7.1f} ms   p99 {percentile(values, 99):7.1f} ms   "
        f"(n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--saves", type=int, default=100)
    parser.add_argument("--subscribers", default="50,500")
    parser.add_argument(
        "--processes", type=int, default=1, help="uvicorn processes, each on its own port"
    )
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between saves")
    args = parser.parse_args()
    setup = prepare(editors=1)
    with contextlib.ExitStack() as servers:
        first = free_port()
        started = [
            servers.enter_context(uvicorn(first + n if n else first)) for n in range(args.processes)
        ]
        url, ports = started[0][0], [port for _, port in started]
        print(
            f"live latency: {args.saves} saves, {args.processes} uvicorn process(es) on ports "
            f"{', '.join(map(str, ports))} (pages spread over them, saves sent to the first), "
            "Redis bus, loopback; save sent → the new block's HTML in every open page"
        )
        print(line("floor: Redis publish → subscriber", asyncio.run(redis_floor())))
        print(line("floor: HTTP GET /healthz", asyncio.run(http_floor(url))))
        for count in (int(n) for n in args.subscribers.split(",")):
            result = asyncio.run(run(args.saves, count, setup, url, ports, args.pause))
            print(
                f"{count} subscribers ({result['opened']} streams open, "
                f"{result['missing']} deliveries missing):"
            )
            print(line("save acknowledged → HTML in the page", result["from_ack"]))
            print(line("save sent → HTML in the page", result["from_send"]))


if __name__ == "__main__":
    main()
