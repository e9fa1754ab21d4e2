"""How fast a save reaches every open page: one editor saving, N event streams listening.

Prints p50 / p95 / p99 of save-acknowledged-to-event-received latency for 50 and for 500
subscribers, and in the same run the floor: a bare Redis publish-to-subscriber round trip and a
bare HTTP request to the same server.

    .venv/bin/python bench/live_latency.py [--saves 200] [--subscribers 50,500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time

import httpx
import redis.asyncio as aioredis
from live_server import CSRF, REDIS_URL, percentile, prepare, uvicorn

logging.getLogger("httpx").setLevel(logging.WARNING)


async def subscriber(
    port: int, path: str, cookie: str, arrivals: dict, ready: asyncio.Event, opened: list
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    event = None
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            text = line.decode().strip()
            if text.startswith("event:"):
                event = text[6:].strip()
                if event == "ready":
                    opened.append(1)
                    ready.set()
            elif text.startswith("data:") and event == "change":
                data = json.loads(text[5:])
                arrivals.setdefault(data["version"], []).append(time.perf_counter())
    finally:
        writer.close()


async def run(saves: int, count: int, setup: dict, url: str, port: int) -> dict:
    ref, section = setup["ref"], setup["section"]
    arrivals: dict[int, list[float]] = {}
    ready = asyncio.Event()
    opened: list[int] = []
    tasks = [
        asyncio.create_task(
            subscriber(
                port, f"/incidents/{ref}/events/", setup["cookies"][0], arrivals, ready, opened
            )
        )
        for _ in range(count)
    ]
    for _ in range(600):
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
            await asyncio.sleep(0.02)
    await asyncio.sleep(1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
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
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--subscribers", default="50,500")
    args = parser.parse_args()
    setup = prepare(editors=1)
    with uvicorn() as (url, port):
        print(f"live latency: {args.saves} saves, one uvicorn process, Redis bus, loopback")
        print(line("floor: Redis publish → subscriber", asyncio.run(redis_floor())))
        print(line("floor: HTTP GET /healthz", asyncio.run(http_floor(url))))
        for count in (int(n) for n in args.subscribers.split(",")):
            result = asyncio.run(run(args.saves, count, setup, url, port))
            print(
                f"{count} subscribers ({result['opened']} streams open, "
                f"{result['missing']} deliveries missing):"
            )
            print(line("save acknowledged → event received", result["from_ack"]))
            print(line("save sent → event received", result["from_send"]))


if __name__ == "__main__":
    main()
