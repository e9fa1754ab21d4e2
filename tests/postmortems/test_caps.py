"""Caps: open event streams per person and per link, presence per person, PDF exports; slow
readers dropped and caught up."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from hindsight.bus import LOST, InProcessBus
from kernel.limits import lease_take
from kernel.live import document_channel
from postmortems.editing import section_update
from postmortems.models import Section
from postmortems.share_links import share_link_create
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def summary_with(incident, text: str, user) -> Section:
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    return section_update(section, body=text, base_version=section.version, user=user).block


async def until_ready(iterator) -> list[str]:
    """Read a stream up to its "ready" event: from there it waits for news."""
    chunks = []
    while not any("event: ready" in chunk for chunk in chunks):
        chunks.append((await anext(iterator)).decode())
    return chunks


async def hang_up(response) -> None:
    """What a page going away does to its stream: the task sending it is cancelled."""
    iterator = aiter(response.streaming_content)
    await until_ready(iterator)
    sending = asyncio.ensure_future(anext(iterator))
    for _ in range(5):
        await asyncio.sleep(0)  # into its wait for the next event
    sending.cancel()
    await asyncio.gather(sending, return_exceptions=True)


@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_a_persons_streams_past_the_cap_get_429_in_words_until_one_closes(
    bus, settings, owner, incident
):
    settings.HINDSIGHT_STREAMS_PER_USER = 2
    other = factories.incident(owner=owner)
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)

    async def open_three_close_one():
        # The cap counts the person's streams on every document, not per document.
        first = await client.get(f"/incidents/{incident.ref}/events/")
        second = await client.get(f"/incidents/{other.ref}/events/")
        refused = await client.get(f"/incidents/{incident.ref}/events/")
        await hang_up(first)
        after_closing = await client.get(f"/incidents/{incident.ref}/events/")
        return first, second, refused, after_closing

    first, second, refused, after_closing = async_to_sync(open_three_close_one)()

    assert (first.status_code, second.status_code) == (200, 200)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Too many live connections are open for your account (at most 2)" in (
        refused.content.decode()
    )
    assert after_closing.status_code == 200


@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_a_links_streams_past_the_cap_get_429_and_other_links_are_not_counted(
    bus, settings, owner, incident
):
    settings.HINDSIGHT_STREAMS_PER_LINK = 2
    _, token = share_link_create(postmortem=incident.postmortem, label="Acme", user=owner)
    _, other_token = share_link_create(postmortem=incident.postmortem, label="Board", user=owner)

    async def open_streams():
        client = AsyncClient()
        held = [await client.get(f"/s/{token}/events/") for _ in range(2)]
        refused = await client.get(f"/s/{token}/events/")
        other_link = await client.get(f"/s/{other_token}/events/")
        await hang_up(held[0])
        after_closing = await client.get(f"/s/{token}/events/")
        return held, refused, other_link, after_closing

    held, refused, other_link, after_closing = async_to_sync(open_streams)()

    assert [response.status_code for response in held] == [200, 200]
    assert refused.status_code == 429
    assert "through this link (at most 2)" in refused.content.decode()
    assert int(refused["Retry-After"]) >= 1
    assert other_link.status_code == 200
    assert after_closing.status_code == 200


def test_presence_past_the_cap_gets_429_and_a_tab_that_leaves_makes_room(
    bus, settings, owner_client, incident
):
    settings.HINDSIGHT_PRESENCE_PER_USER = 2
    url = f"/incidents/{incident.ref}/presence/"

    assert owner_client.post(url, {"tab": "a"}).status_code == 200
    assert owner_client.post(url, {"tab": "b"}).status_code == 200
    refused = owner_client.post(url, {"tab": "c"})
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("You have 2 pages open already")
    assert int(refused["Retry-After"]) >= 1
    assert owner_client.post(url, {"tab": "a"}).status_code == 200  # a beat renews its place

    owner_client.post(f"{url}leave/", {"tab": "b"})

    assert owner_client.post(url, {"tab": "c"}).status_code == 200


def test_presence_takes_odd_tab_names_without_failing(bus, owner_client, incident):
    url = f"/incidents/{incident.ref}/presence/"
    for tab in ("\x00\r\n" * 100, "x" * 100_000, "", "é" * 50):
        assert owner_client.post(url, {"tab": tab}).status_code == 200


@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_pdf_exports_past_the_rate_get_429_with_when_to_try_again(
    bus, settings, owner_client, incident
):
    settings.HINDSIGHT_PDF_EXPORTS_PER_USER = 2
    settings.HINDSIGHT_PDF_EXPORT_WINDOW_SECONDS = 600
    settings.HINDSIGHT_CHROMIUM = "/nonexistent/chromium"  # answers at once; still counted
    url = reverse("export-pdf", args=[incident.ref])

    answers = [owner_client.get(url).status_code for _ in range(2)]
    refused = owner_client.get(url)

    assert answers == [503, 503]
    assert refused.status_code == 429
    assert "You have asked for 2 PDFs in the last 10 minutes" in refused.content.decode()
    assert 1 <= int(refused["Retry-After"]) <= 600
    assert owner_client.get(reverse("export-markdown", args=[incident.ref])).status_code == 200


def test_pdf_renders_past_the_global_bound_say_the_server_is_busy(
    bus, settings, owner_client, incident
):
    settings.HINDSIGHT_PDF_RENDERS = 1
    settings.HINDSIGHT_PDF_WAIT_SECONDS = 0
    lease, _ = lease_take("pdf:renders", limit=1, seconds=60)  # someone else's render

    busy = owner_client.get(reverse("export-pdf", args=[incident.ref]))
    lease.give_back()
    settings.HINDSIGHT_CHROMIUM = "/nonexistent/chromium"
    after = owner_client.get(reverse("export-pdf", args=[incident.ref]))

    assert busy.status_code == 503
    assert "busy making other PDFs" in busy.content.decode()
    assert busy["Retry-After"]
    assert "needs Chromium" in after.content.decode()  # it got to the render this time


def dropped_readers(bus, channel: str) -> int:
    if isinstance(bus, InProcessBus):
        subscriptions = [subscription for _, subscription in bus.subscribers[channel]]
    else:
        subscriptions = [
            subscription
            for listener in bus.listeners.values()
            for subscription in listener.subscriptions.get(channel, ())
        ]
    return sum(subscription.dropped for subscription in subscriptions)


@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_a_slow_reader_is_dropped_and_catches_up_when_it_reconnects(bus, settings, owner, incident):
    settings.HINDSIGHT_STREAM_QUEUE_EVENTS = 3
    channel = document_channel(incident.pk)
    seen = bus.last_id(channel)
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)

    async def fall_behind_then_reconnect():
        slow = await client.get(f"/incidents/{incident.ref}/events/")
        iterator = aiter(slow.streaming_content)
        await until_ready(iterator)
        for n in range(10):  # the page reads none of these
            await sync_to_async(summary_with)(incident, f"Draft {n}", owner)
        for _ in range(500):  # the listener hands them over as they arrive
            if dropped_readers(bus, channel):
                break
            await asyncio.sleep(0.01)
        after_drop = [chunk.decode() async for chunk in iterator]
        again = await client.get(
            f"/incidents/{incident.ref}/events/", headers={"Last-Event-ID": seen}
        )
        caught_up = await until_ready(aiter(again.streaming_content))
        return after_drop, caught_up

    after_drop, caught_up = async_to_sync(fall_behind_then_reconnect)()

    assert after_drop == []  # the stream ended, holding none of what it had not sent
    changes = [chunk for chunk in caught_up if chunk.startswith("event: change")]
    assert len(changes) == 10
    assert '"caught_up": 10' in caught_up[-1]


@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_a_reader_whose_waiting_events_pass_the_byte_bound_is_dropped(bus, settings, incident):
    channel = document_channel(incident.pk)
    # Three events of about 40 KB each, far below the bound in events (200).
    event = {
        "type": "block",
        "kind": "section",
        "html": {"edit": "e" * 20_000, "read": "r" * 20_000},
    }

    async def three_unread_events():
        settings.HINDSIGHT_STREAM_QUEUE_BYTES = 1_000_000
        roomy = await bus.subscribe(channel)
        settings.HINDSIGHT_STREAM_QUEUE_BYTES = 100_000
        tight = await bus.subscribe(channel)
        for _ in range(3):  # neither page reads any of them
            await sync_to_async(bus.publish)(channel, event)
        for _ in range(500):  # the listener hands them over as they arrive
            if roomy.queue.qsize() == 3 and tight.dropped:
                break
            await asyncio.sleep(0.01)
        outcome = [
            (subscription.dropped, await subscription.get(timeout=1))
            for subscription in (roomy, tight)
        ]
        roomy.close()
        tight.close()
        return outcome

    (roomy_dropped, roomy_next), (tight_dropped, tight_next) = async_to_sync(three_unread_events)()

    assert not roomy_dropped
    assert roomy_next.data == event
    assert tight_dropped
    assert tight_next is LOST  # its stream ends; the page reconnects and catches up
