"""The live-update bus: events per document channel, replay after a reconnect, and presence.

With REDIS_URL set, events go to a bounded Redis stream per channel (the replayable record) and
are announced on Redis pub/sub, which one long-lived listener per process fans out to the open
event streams. Without Redis, an in-process bus does the same for a single server process.

Publishing never raises: a save must succeed even when the bus is down; pages then fall back to
polling the history tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Hashable
from dataclasses import dataclass, field

from django.conf import settings

logger = logging.getLogger(__name__)

PREFIX = "hindsight:"
STREAM_LENGTH = 1000
PRESENCE_TTL_SECONDS = 20
# Events read from the record at a time during a catch-up: a page back after a long absence
# costs one batch in memory, not the whole backlog.
REPLAY_BATCH = 50


class BusUnavailable(Exception):
    """The bus cannot deliver live events right now."""


class MissedTooMuch(Exception):
    """The events after a page's last one can no longer all be told (trimmed, or a restart)."""


LOST = object()  # put on a subscription's queue when the bus connection is gone or it fell behind


class LiveEvent:
    """One event as the open streams receive it, decoded once for all of them.

    Every stream of a process that passes the event on sends the same bytes: `encoded` makes
    them once per key (an event name and audience, say) and keeps them on the event, so they
    live as long as some stream still has the event to send, and no longer.
    """

    __slots__ = ("id", "data", "size", "_encoded")

    def __init__(self, event_id: str, data: dict, size: int) -> None:
        self.id = event_id
        self.data = data
        self.size = size  # its length as JSON: what holding it costs, roughly
        self._encoded: dict[Hashable, bytes] = {}

    def encoded(self, key: Hashable, encode: Callable[[LiveEvent], bytes]) -> bytes:
        # Two threads asking at once (the in-process bus wakes several event loops) may both
        # encode; either result is the same, so no lock.
        text = self._encoded.get(key)
        if text is None:
            text = self._encoded[key] = encode(self)
        return text


def _bounded_queue() -> asyncio.Queue:
    return asyncio.Queue(maxsize=settings.HINDSIGHT_STREAM_QUEUE_EVENTS)


def _queue_bytes() -> int:
    return settings.HINDSIGHT_STREAM_QUEUE_BYTES


@dataclass(eq=False)
class Subscription:
    channel: str
    queue: asyncio.Queue = field(default_factory=_bounded_queue)
    max_bytes: int = field(default_factory=_queue_bytes)
    queued_bytes: int = 0
    on_close: object = None
    dropped: bool = False

    def offer(self, item: LiveEvent | object) -> None:
        """Queue an event for the stream, or LOST for a reader too slow to keep up.

        A reader whose queue is full, in events or in bytes, is cut off rather than held in
        memory: what was waiting is let go and the stream ends, and its page reconnects and
        catches up from its last event id (the replayable record has it all). One event alone
        is always taken, however big: a reader keeping up is never cut off.
        """
        if self.dropped:
            return
        size = item.size if isinstance(item, LiveEvent) else 0
        if self.queued_bytes and self.queued_bytes + size > self.max_bytes:
            self._drop()
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._drop()
            return
        self.queued_bytes += size

    def _drop(self) -> None:
        self.dropped = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queued_bytes = 0
        self.queue.put_nowait(LOST)
        logger.info("live bus: dropped a slow reader of %s", self.channel)

    async def get(self, timeout: float) -> LiveEvent | object | None:
        """The next event, None after `timeout` seconds, or LOST."""
        try:
            item = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, LiveEvent):
            self.queued_bytes -= item.size
        return item

    def close(self) -> None:
        if self.on_close:
            self.on_close(self)
            self.on_close = None


def _stream_id_key(event_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = event_id.partition("-")
    return int(milliseconds), int(sequence or 0)


class InProcessBus:
    """One server process: events kept in memory, subscribers woken on their event loops."""

    def __init__(self) -> None:
        self.boot = secrets.token_hex(4)
        self.counter = itertools.count(1)
        self.lock = threading.Lock()
        # (id, event, size): the record keeps no encoding, only streams sending an event do.
        self.events: dict[str, deque[tuple[str, dict, int]]] = defaultdict(
            lambda: deque(maxlen=STREAM_LENGTH)
        )
        self.subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, Subscription]]] = (
            defaultdict(set)
        )
        self.presence: dict[str, dict[str, dict]] = defaultdict(dict)

    def publish(self, channel: str, event: dict) -> str | None:
        size = len(json.dumps(event))
        with self.lock:
            event_id = f"{self.boot}-{next(self.counter)}"
            self.events[channel].append((event_id, event, size))
            listeners = list(self.subscribers[channel])
        live = LiveEvent(event_id, event, size)
        for loop, subscription in listeners:
            try:
                loop.call_soon_threadsafe(subscription.offer, live)
            except RuntimeError:  # that loop has closed; its stream is gone
                self._unsubscribe(channel, loop, subscription)
        return event_id

    def follows(self, event_id: str, other_id: str) -> bool:
        """Whether one event of this process's record came after another."""
        return int(event_id.partition("-")[2]) > int(other_id.partition("-")[2])

    def last_id(self, channel: str) -> str:
        with self.lock:
            events = self.events.get(channel)
            return events[-1][0] if events else f"{self.boot}-0"

    async def subscribe(self, channel: str) -> Subscription:
        loop = asyncio.get_running_loop()
        subscription = Subscription(channel)
        subscription.on_close = lambda s: self._unsubscribe(channel, loop, s)
        with self.lock:
            self.subscribers[channel].add((loop, subscription))
        return subscription

    def _unsubscribe(self, channel, loop, subscription) -> None:
        with self.lock:
            self.subscribers[channel].discard((loop, subscription))

    async def replay(self, channel: str, after_id: str) -> AsyncIterator[LiveEvent]:
        """The events after `after_id`, oldest first.

        Raises MissedTooMuch when they cannot all be told (a restart, or trimmed since).
        """
        boot, _, number = after_id.partition("-")
        if boot != self.boot or not number.isdigit():
            raise MissedTooMuch(after_id)
        after = int(number)
        with self.lock:
            events = list(self.events.get(channel, ()))
        if not events and after != 0:
            raise MissedTooMuch(after_id)
        if events and after < int(events[0][0].partition("-")[2]) - 1:
            raise MissedTooMuch(after_id)
        for event_id, event, size in events:
            if int(event_id.partition("-")[2]) > after:
                yield LiveEvent(event_id, event, size)

    def presence_beat(self, channel: str, member: str, data: dict) -> bool:
        """Record a heartbeat; True when this changes what others see."""
        now = time.time()
        with self.lock:
            before = self.presence[channel].get(member)
            self.presence[channel][member] = {**data, "seen": now}
        return before is None or _visible(before) != _visible(data) or _expired(before, now)

    def presence_leave(self, channel: str, member: str) -> None:
        with self.lock:
            self.presence[channel].pop(member, None)

    def presence_list(self, channel: str) -> list[dict]:
        now = time.time()
        with self.lock:
            members = self.presence[channel]
            for member in [m for m, data in members.items() if _expired(data, now)]:
                del members[member]
            return [dict(data, member=member) for member, data in members.items()]

    def healthy(self) -> bool:
        return True


def _visible(data: dict) -> tuple:
    return tuple(sorted((k, v) for k, v in data.items() if k != "seen"))


def _expired(data: dict, now: float) -> bool:
    return data.get("seen", 0) < now - PRESENCE_TTL_SECONDS


class RedisBus:
    """Events in a capped Redis stream per channel, announced on pub/sub."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=1)
        self.errors = (redis.RedisError, OSError)
        self.listeners: dict[asyncio.AbstractEventLoop, _RedisListener] = {}
        # Pub/sub ignores the database number: name it, so that two deployments sharing one
        # Redis server on different databases do not hear each other's documents.
        database = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.topics = f"{PREFIX}{database}:bus:"

    def _stream(self, channel: str) -> str:
        return f"{PREFIX}stream:{channel}"

    def publish(self, channel: str, event: dict) -> str | None:
        try:
            event_id = self.redis.xadd(
                self._stream(channel),
                {"event": json.dumps(event)},
                maxlen=STREAM_LENGTH,
                approximate=True,
            ).decode()
            self.redis.publish(
                f"{self.topics}{channel}", json.dumps({"id": event_id, "event": event})
            )
            return event_id
        except self.errors as error:
            logger.warning("live bus: publish to %s failed: %s", channel, error)
            return None

    def follows(self, event_id: str, other_id: str) -> bool:
        """Whether one event of a channel's record came after another."""
        return _stream_id_key(event_id) > _stream_id_key(other_id)

    def last_id(self, channel: str) -> str:
        try:
            entries = self.redis.xrevrange(self._stream(channel), count=1)
        except self.errors:
            return ""  # unknown: the page starts without catch-up
        return entries[0][0].decode() if entries else "0-0"

    async def subscribe(self, channel: str) -> Subscription:
        loop = asyncio.get_running_loop()
        listener = self.listeners.get(loop)
        if listener is None or not listener.alive:
            listener = _RedisListener(self.url, self.errors, self.topics)
            self.listeners[loop] = listener
        await listener.start()
        return listener.add(channel)

    async def replay(self, channel: str, after_id: str) -> AsyncIterator[LiveEvent]:
        """The events after `after_id`, oldest first, read REPLAY_BATCH at a time.

        A batch is let go before the next is read, so a stream catching up on hundreds of big
        events holds a few of them, however slowly its page reads. Raises MissedTooMuch when
        they cannot all be told (trimmed past the page's last event, before or during the
        catch-up), BusUnavailable when Redis is.
        """
        try:
            _stream_id_key(after_id)
        except ValueError:
            raise MissedTooMuch(after_id) from None
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=1)
        try:
            while True:
                entries = await self._replay_batch(client, channel, after_id)
                for event_id, fields in entries:
                    after_id = event_id.decode()
                    raw = fields[b"event"]
                    yield LiveEvent(after_id, json.loads(raw), len(raw))
                if len(entries) < REPLAY_BATCH:
                    return
                del entries
        finally:
            with contextlib.suppress(self.errors):
                await client.aclose()

    async def _replay_batch(self, client, channel: str, after_id: str) -> list:
        """The next batch after `after_id`, read with the stream's first entry in one go: if
        that is past `after_id`, what came between was trimmed and cannot be told."""
        stream = self._stream(channel)
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.xrange(stream, count=1)
                pipe.xrange(stream, min=f"({after_id}", count=REPLAY_BATCH)
                first, entries = await pipe.execute()
        except self.errors as error:
            raise BusUnavailable(str(error)) from error
        after = _stream_id_key(after_id)
        if after != (0, 0) and first and _stream_id_key(first[0][0].decode()) > after:
            raise MissedTooMuch(after_id)
        return entries

    def _presence_key(self, channel: str) -> str:
        return f"{PREFIX}presence:{channel}"

    def presence_beat(self, channel: str, member: str, data: dict) -> bool:
        key = self._presence_key(channel)
        now = time.time()
        try:
            before = self.redis.hget(key, member)
            pipe = self.redis.pipeline()
            pipe.hset(key, member, json.dumps({**data, "seen": now}))
            pipe.expire(key, PRESENCE_TTL_SECONDS * 3)
            pipe.execute()
        except self.errors as error:
            logger.warning("live bus: presence unavailable: %s", error)
            return False
        if before is None:
            return True
        before = json.loads(before)
        return _visible(before) != _visible(data) or _expired(before, now)

    def presence_leave(self, channel: str, member: str) -> None:
        try:
            self.redis.hdel(self._presence_key(channel), member)
        except self.errors as error:
            logger.warning("live bus: presence unavailable: %s", error)

    def presence_list(self, channel: str) -> list[dict]:
        key = self._presence_key(channel)
        now = time.time()
        try:
            members = self.redis.hgetall(key)
            gone = [m for m, raw in members.items() if _expired(json.loads(raw), now)]
            if gone:
                self.redis.hdel(key, *gone)
        except self.errors as error:
            logger.warning("live bus: presence unavailable: %s", error)
            return []
        return [
            dict(json.loads(raw), member=member.decode())
            for member, raw in members.items()
            if member not in gone
        ]

    def healthy(self) -> bool:
        try:
            return bool(self.redis.ping())
        except self.errors:
            return False


class _RedisListener:
    """One pub/sub connection per process and event loop, fanning events out to streams."""

    def __init__(self, url: str, errors: tuple, topics: str) -> None:
        self.url = url
        self.errors = errors
        self.topics = topics
        self.subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self.task: asyncio.Task | None = None
        self.starting = asyncio.Lock()

    @property
    def alive(self) -> bool:
        return self.task is None or not self.task.done()

    async def start(self) -> None:
        async with self.starting:
            if self.task is not None:
                return
            import redis.asyncio as aioredis

            self.client = aioredis.Redis.from_url(self.url, socket_connect_timeout=1)
            self.pubsub = self.client.pubsub()
            try:
                await self.pubsub.psubscribe(f"{self.topics}*")
            except self.errors as error:
                await self.client.aclose()
                self.task = asyncio.get_running_loop().create_future()
                self.task.set_result(None)  # marks this listener dead; the next one retries
                raise BusUnavailable(str(error)) from error
            self.task = asyncio.create_task(self.run())

    def add(self, channel: str) -> Subscription:
        subscription = Subscription(channel)
        subscription.on_close = lambda s: self.subscriptions[channel].discard(s)
        self.subscriptions[channel].add(subscription)
        return subscription

    async def run(self) -> None:
        offset = len(self.topics)
        try:
            async for message in self.pubsub.listen():
                if message["type"] != "pmessage":
                    continue
                channel = message["channel"].decode()[offset:]
                subscriptions = list(self.subscriptions.get(channel, ()))
                if not subscriptions:
                    continue  # another process's document: not worth decoding
                payload = json.loads(message["data"])
                event = LiveEvent(payload["id"], payload["event"], len(message["data"]))
                for subscription in subscriptions:
                    subscription.offer(event)
        except self.errors as error:
            logger.warning("live bus: lost the Redis subscription: %s", error)
        except Exception:
            logger.exception("live bus: the listener failed")
        finally:
            for subscriptions in self.subscriptions.values():
                for subscription in subscriptions:
                    subscription.offer(LOST)
            self.subscriptions.clear()
            with contextlib.suppress(self.errors):
                await self.client.aclose()


_bus: InProcessBus | RedisBus | None = None
_bus_lock = threading.Lock()


def get_bus() -> InProcessBus | RedisBus:
    global _bus
    with _bus_lock:
        wanted = settings.REDIS_URL or None
        if _bus is None or getattr(_bus, "url", None) != wanted:
            _bus = RedisBus(wanted) if wanted else InProcessBus()
        return _bus
