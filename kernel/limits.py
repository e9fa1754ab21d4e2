"""Caps on what one person or one link may hold at once: event streams, presence, PDF exports.

A cap is a set of leases under one key (one person, one link, the whole deployment). Taking a
lease succeeds while fewer than the limit are held; every lease ends by itself after its time
unless renewed, so a server process that crashes while holding some gives them back within
that time instead of leaking them. With REDIS_URL the leases live in Redis (a sorted set per key,
scored by when each lease ends) and count across every server process and host; without it, in
this process, which is all the embedded default runs.

The same leases make a rate: a lease per PDF export, never given back, held for the window.

Limits are read from settings on every use (see README, "Limits"). A cap never fails a request
because its store is down: with Redis unreachable the lease is granted and a warning logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PREFIX = "hindsight:leases:"

# An open stream renews its lease at least this often: each event or ping it sends.
STREAM_RENEW_SECONDS = 15
# ... and loses it this long after its process stopped renewing (a crash, a hung client).
STREAM_LEASE_SECONDS = 60

# KEYS[1]: the leases of one holder. ARGV: lease id, limit, lease length (ms).
# Forget ended leases; renew this lease if it is held, else take it if there is room.
# Answers -1 when held, else the milliseconds until the first lease ends.
_TAKE = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return -1
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if first[2] == nil then
  return tonumber(ARGV[3])  -- a cap of 0: nothing to wait for but a lease's length
end
return tonumber(first[2]) - now_ms
"""


class _LocalLeases:
    """Leases of this process only: the embedded default, with no Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.leases: dict[str, dict[str, float]] = defaultdict(dict)

    def take(self, key: str, lease: str, limit: int, seconds: float) -> float | None:
        now = time.monotonic()
        with self.lock:
            held = self.leases[key]
            for ended in [name for name, until in held.items() if until <= now]:
                del held[ended]
            if lease in held or len(held) < limit:
                held[lease] = now + seconds
                return None
            return min(held.values(), default=now + seconds) - now

    def give_back(self, key: str, lease: str) -> None:
        with self.lock:
            self.leases[key].pop(lease, None)

    def count(self, key: str) -> int:
        now = time.monotonic()
        with self.lock:
            return sum(1 for until in self.leases[key].values() if until > now)


class _RedisLeases:
    """Leases in Redis, counted across every process and host that shares it."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        # A burst of requests waits for a connection rather than failing (and being let through).
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=50, timeout=10, socket_timeout=2, socket_connect_timeout=1
        )
        self.redis = redis.Redis(connection_pool=pool)
        self.errors = (redis.RedisError, OSError)
        self.script = self.redis.register_script(_TAKE)

    def take(self, key: str, lease: str, limit: int, seconds: float) -> float | None:
        try:
            wait_ms = self.script(keys=[PREFIX + key], args=[lease, limit, int(seconds * 1000)])
        except self.errors as error:
            logger.warning("limits: Redis unreachable, %s not counted: %s", key, error)
            return None
        return None if wait_ms < 0 else wait_ms / 1000

    def give_back(self, key: str, lease: str) -> None:
        try:
            self.redis.zrem(PREFIX + key, lease)
        except self.errors as error:
            logger.warning("limits: Redis unreachable, %s ends by itself: %s", key, error)

    def count(self, key: str) -> int:
        try:
            return self.redis.zcount(PREFIX + key, f"({time.time() * 1000:.0f}", "+inf")
        except self.errors:
            return 0


_store: _LocalLeases | _RedisLeases | None = None
_store_lock = threading.Lock()


def _leases() -> _LocalLeases | _RedisLeases:
    global _store
    with _store_lock:
        wanted = settings.REDIS_URL or None
        if _store is None or getattr(_store, "url", None) != wanted:
            _store = _RedisLeases(wanted) if wanted else _LocalLeases()
        return _store


@dataclass
class Refused:
    """A cap said no: why, in words, and when to try again."""

    message: str
    retry_after: int  # whole seconds, at least 1
    title: str = "Too many at once"
    status: int = 429  # 503 when the whole server is busy, not this person or link

    def response(self) -> HttpResponse:
        response = HttpResponse(
            self.message, status=self.status, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(self.retry_after)
        return response

    def json_response(self) -> JsonResponse:
        response = JsonResponse({"error": self.message}, status=self.status)
        response["Retry-After"] = str(self.retry_after)
        return response


class Lease:
    """One held place under a cap; renew it while in use, give it back when done."""

    def __init__(self, key: str, name: str, limit: int, seconds: float) -> None:
        self.key, self.name, self.limit, self.seconds = key, name, limit, seconds
        self.renewed = time.monotonic()

    def renew(self) -> bool:
        """Keep the place; False when it had ended and others have filled the cap since."""
        self.renewed = time.monotonic()
        return _leases().take(self.key, self.name, self.limit, self.seconds) is None

    def give_back(self) -> None:
        _leases().give_back(self.key, self.name)


def lease_take(
    key: str, *, limit: int, seconds: float, name: str = ""
) -> tuple[Lease | None, float]:
    """A place under the cap `key`, or None and the seconds until the first place ends.

    `name` names the place (a page's tab, say) so that taking it again renews it; by default
    each call takes a new one.
    """
    lease = Lease(key, name or secrets.token_hex(8), limit, seconds)
    wait = _leases().take(key, lease.name, limit, seconds)
    return (lease, 0.0) if wait is None else (None, wait)


def leases_held(key: str) -> int:
    return _leases().count(key)


def _seconds(value: float) -> int:
    return max(1, math.ceil(value))


# --- event streams ----------------------------------------------------------------------------


def stream_lease(holder: str, *, limit: int, who: str) -> Lease | Refused:
    """A place for one more open event stream of `holder` ("user:7", "link:3")."""
    lease, _ = lease_take(f"streams:{holder}", limit=limit, seconds=STREAM_LEASE_SECONDS)
    if lease is not None:
        return lease
    return Refused(
        f"Too many live connections are open {who} (at most {limit}). Close a tab or two; "
        "this page keeps working and checks for changes by itself.",
        retry_after=STREAM_RENEW_SECONDS * 2,
    )


def user_stream_lease(user) -> Lease | Refused:
    return stream_lease(
        f"user:{user.pk}", limit=settings.HINDSIGHT_STREAMS_PER_USER, who="for your account"
    )


def link_stream_lease(link_id: int) -> Lease | Refused:
    return stream_lease(
        f"link:{link_id}", limit=settings.HINDSIGHT_STREAMS_PER_LINK, who="through this link"
    )


async def held_while_streaming(
    stream: AsyncIterator[str | bytes], lease: Lease
) -> AsyncIterator[str | bytes]:
    """Pass an event stream through, renewing its lease as it goes and giving it back at the end.

    The stream sends something at least every ping, so the lease is renewed well before it
    ends; a stream whose lease was lost (its process stalled past the lease) and whose place
    was taken since ends, and its page reconnects under the cap like any other.
    """
    loop = asyncio.get_running_loop()
    try:
        async for chunk in stream:
            due = time.monotonic() - lease.renewed >= STREAM_RENEW_SECONDS
            if due and not await loop.run_in_executor(None, lease.renew):
                return
            yield chunk
    finally:
        await stream.aclose()
        # Off the event loop, and shielded: a stream cancelled again (the server shutting down)
        # still gives its place back.
        await asyncio.shield(loop.run_in_executor(None, lease.give_back))


# --- presence ---------------------------------------------------------------------------------


def presence_lease(user, *, channel: str, tab: str, seconds: float) -> Refused | None:
    """Room for one more open page in the presence lists, counted per person; None when there is.

    A page's beat renews its own place; a new tab needs a free one.
    """
    limit = settings.HINDSIGHT_PRESENCE_PER_USER
    lease, _ = lease_take(
        f"presence:user:{user.pk}", limit=limit, seconds=seconds, name=f"{channel}|{tab}"
    )
    if lease is not None:
        return None
    return Refused(
        f"You have {limit} pages open already; close some to be shown on this one.",
        retry_after=_seconds(seconds),
    )


def presence_lease_end(user, *, channel: str, tab: str) -> None:
    _leases().give_back(f"presence:user:{user.pk}", f"{channel}|{tab}")


# --- PDF export -------------------------------------------------------------------------------


def pdf_export_allowed(user) -> Refused | None:
    """The rate of PDF exports per person: None while under it (and counts this one)."""
    limit = settings.HINDSIGHT_PDF_EXPORTS_PER_USER
    window = settings.HINDSIGHT_PDF_EXPORT_WINDOW_SECONDS
    lease, wait = lease_take(f"pdf:user:{user.pk}", limit=limit, seconds=window)
    if lease is not None:
        return None
    return Refused(
        f"You have asked for {limit} PDFs in the last {_duration(window)}, the most allowed; try "
        f"again in {_duration(wait)}, or download the Markdown, which has no limit.",
        retry_after=_seconds(wait),
        title="Too many PDF exports",
    )


async def pdf_render_slot(*, wait_seconds: float, hold_seconds: float) -> Lease | Refused:
    """One of the few Chromium renders the whole deployment runs at once, waited for a while."""
    limit = settings.HINDSIGHT_PDF_RENDERS
    deadline = time.monotonic() + wait_seconds
    while True:
        lease, wait = await asyncio.to_thread(
            lease_take, "pdf:renders", limit=limit, seconds=hold_seconds
        )
        if lease is not None or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.25)
    if lease is not None:
        return lease
    return Refused(
        "The server is busy making other PDFs. Try again in a minute, or download the Markdown.",
        retry_after=_seconds(min(wait, 60)),
        title="Busy making other PDFs",
        status=503,
    )


async def pdf_export_slot(user, *, hold_seconds: float) -> Lease | Refused:
    """Room for this person's PDF now: under their rate, then one of the deployment's renders
    (each render is a Chromium of several processes, so only a few run at once, anywhere)."""
    refused = await asyncio.to_thread(pdf_export_allowed, user)
    if refused is not None:
        return refused
    return await pdf_render_slot(
        wait_seconds=settings.HINDSIGHT_PDF_WAIT_SECONDS, hold_seconds=hold_seconds
    )


def _duration(seconds: float) -> str:
    seconds = _seconds(seconds)
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
