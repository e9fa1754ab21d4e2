"""What the live-update bus recorded, for tests that check the events a change sends."""

from __future__ import annotations

from asgiref.sync import async_to_sync


def events_after(bus, channel: str, after_id: str) -> list[tuple[str, dict]]:
    """(id, event) of every event after `after_id`, as a reconnecting page is caught up."""

    async def read():
        return [(event.id, event.data) async for event in bus.replay(channel, after_id)]

    return async_to_sync(read)()
