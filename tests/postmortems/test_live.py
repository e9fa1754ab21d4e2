"""Live co-editing on the server: merges, conflict copies, events after commit, presence."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection, transaction
from django.test import AsyncClient, Client
from django.utils import timezone

from hindsight.bus import InProcessBus, RedisBus
from kernel.live import document_channel
from postmortems.editing import section_update
from postmortems.models import ConflictCopy, Section
from tests import factories
from tests.live import events_after

BASE = "Paragraph one.\n\nParagraph two.\n\nParagraph three."


def summary_with(incident, text: str, user) -> Section:
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    return section_update(section, body=text, base_version=section.version, user=user).block


def autosave(client, incident, section, text, base_version):
    return client.post(
        f"/incidents/{incident.ref}/section/{section.pk}/autosave/",
        {"body": text, "base_version": base_version},
    )


@pytest.mark.django_db
def test_two_saves_from_one_base_are_merged(owner_client, owner, teammate, incident):
    section = summary_with(incident, BASE, owner)
    section_update(
        section, body=BASE.replace("one", "ONE"), base_version=section.version, user=teammate
    )

    response = autosave(
        owner_client, incident, section, BASE.replace("three", "THREE"), section.version
    )

    data = response.json()
    assert response.status_code == 200
    assert data["merged"] is True
    assert data["text"] == "Paragraph ONE.\n\nParagraph two.\n\nParagraph THREE."
    assert data["edits"] == [[10, 13, "ONE"]]
    section.refresh_from_db()
    assert (section.body, section.version) == (data["text"], data["version"])
    assert section.version == 4


@pytest.mark.django_db
def test_an_unmergeable_save_overwrites_nothing_and_keeps_a_conflict_copy(
    owner_client, owner, teammate, incident
):
    section = summary_with(incident, BASE, owner)
    section_update(
        section, body=BASE.replace("two", "2"), base_version=section.version, user=teammate
    )

    response = autosave(
        owner_client, incident, section, BASE.replace("two", "TWO"), section.version
    )

    data = response.json()
    assert response.status_code == 409
    assert data["theirs"] == BASE.replace("two", "2")
    assert data["by"] == "Marcus Webb"
    section.refresh_from_db()
    assert section.body == BASE.replace("two", "2")
    copy = ConflictCopy.objects.get(pk=data["conflict"])
    assert (copy.text, copy.author, copy.base_version) == (BASE.replace("two", "TWO"), owner, 2)
    assert copy.history.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("mine", "Mine"),
        ("theirs", "Theirs"),
        ("both", "Theirs\n\nMine\n"),
    ],
)
def test_a_conflict_is_resolved_by_choice(
    owner_client, owner, teammate, incident, choice, expected
):
    section = summary_with(incident, "Base", owner)
    section_update(section, body="Theirs", base_version=section.version, user=teammate)
    conflict = autosave(owner_client, incident, section, "Mine", section.version).json()

    response = owner_client.post(
        f"/incidents/{incident.ref}/conflicts/{conflict['conflict']}/resolve/",
        {"choice": choice},
    )

    assert response.json()["text"] == expected
    copy = ConflictCopy.objects.get()
    assert (copy.resolution, copy.resolved_by) == (choice, owner)
    section.refresh_from_db()
    assert section.body == ("Mine" if choice == "mine" else "Theirs")


@pytest.mark.django_db
def test_autosave_of_unchanged_text_makes_no_new_version(owner_client, owner, incident):
    section = summary_with(incident, "Same", owner)
    response = autosave(owner_client, incident, section, "Same", section.version)
    assert response.json()["version"] == section.version
    assert section.history.count() == 2


@pytest.mark.django_db
def test_autosave_refuses_text_too_long_in_words_and_saves_nothing(owner_client, incident):
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    response = autosave(owner_client, incident, section, "x" * 300_000, section.version)
    assert response.status_code == 422
    data = response.json()
    assert (data["limit"], data["length"]) == (100_000, 300_000)
    assert "Shorten it by 200,000" in data["error"]
    section.refresh_from_db()
    assert (section.body, section.version) == ("", 1)


def test_the_section_box_does_not_let_the_browser_cut_a_paste(owner_client, incident):
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    form = owner_client.get(f"/incidents/{incident.ref}/section/{section.pk}/edit/")
    html = form.content.decode()
    assert "maxlength" not in html
    assert 'data-autosave-limit="100000"' in html


def test_autosave_refuses_bad_input_in_words(owner_client, incident):
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    assert autosave(owner_client, incident, section, "x", "").status_code == 400
    response = autosave(owner_client, incident, section, "x" * 100_001, 1)
    assert response.status_code == 422
    assert "at most" in response.json()["error"]


@pytest.mark.django_db
def test_live_endpoints_refuse_anonymous_visitors(incident):
    anonymous = Client()
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    for method, path in [
        ("get", f"/incidents/{incident.ref}/events/"),
        ("get", f"/incidents/{incident.ref}/changes/"),
        ("post", f"/incidents/{incident.ref}/presence/"),
        ("post", f"/incidents/{incident.ref}/section/{section.pk}/autosave/"),
        ("get", f"/incidents/{incident.ref}/entry/list/"),
    ]:
        response = getattr(anonymous, method)(path)
        assert response.status_code == 302, path
        assert "/login/" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_lose_no_update(owner, incident):
    """Eight editors change eight paragraphs at once, all from the same version."""
    paragraphs = [f"Paragraph {n}." for n in range(8)]
    section = summary_with(incident, "\n\n".join(paragraphs), owner)
    start = section.version
    barrier = threading.Barrier(8)
    outcomes = []

    def edit(n: int) -> None:
        mine = list(paragraphs)
        mine[n] = f"Paragraph {n} edited by editor {n}."
        barrier.wait()
        try:
            result = section_update(section, body="\n\n".join(mine), base_version=start, user=owner)
            outcomes.append(result.saved)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    section.refresh_from_db()
    assert outcomes == [True] * 8
    for n in range(8):
        assert f"edited by editor {n}." in section.body
    assert section.version == start + 8


@pytest.mark.django_db(transaction=True)
def test_events_go_out_after_commit_and_never_for_a_rollback(bus, owner, incident):
    channel = document_channel(incident.pk)
    before = bus.last_id(channel)

    with pytest.raises(RuntimeError), transaction.atomic():
        summary_with(incident, "Never happened", owner)
        raise RuntimeError("roll it back")
    assert bus.last_id(channel) == before

    summary_with(incident, "Happened", owner)
    events = events_after(bus, channel, before)
    assert [(e["kind"], e["action"], e["by"]) for _, e in events] == [
        ("section", "saved", "Priya Raman")
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["redis"], indirect=True)
def test_redis_bus_records_and_replays_events(bus, owner, incident):
    channel = document_channel(incident.pk)
    first = bus.last_id(channel)
    summary_with(incident, "One", owner)
    middle = bus.last_id(channel)
    summary_with(incident, "Two", owner)

    events = events_after(bus, channel, middle)
    assert [e["version"] for _, e in events] == [3]
    assert len(events_after(bus, channel, first)) == 2


def read_events(response, count: int) -> list[str]:
    async def read():
        chunks = []
        iterator = response.streaming_content.__aiter__()
        while len(chunks) < count:
            chunk = await iterator.__anext__()
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if not text.startswith(":"):
                chunks.append(text)
        await iterator.aclose()
        return chunks

    return async_to_sync(read)()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_event_stream_catches_up_from_last_event_id(bus, owner, incident):
    channel = document_channel(incident.pk)
    seen = bus.last_id(channel)
    summary_with(incident, "Missed while away", owner)
    factories.timeline_entry(incident)  # not via block_create: no event
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)

    response = async_to_sync(client.get)(
        f"/incidents/{incident.ref}/events/", headers={"Last-Event-ID": seen}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    retry, missed, ready = read_events(response, 3)
    assert retry.startswith("retry:")
    assert "event: change" in missed and '"kind": "section"' in missed
    assert 'event: ready\ndata: {"caught_up": 1}' in ready


def section_saved(version: int) -> dict:
    return {"type": "block", "kind": "section", "id": 1, "version": version, "action": "saved"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["redis"], indirect=True)
def test_a_long_catch_up_sends_every_event_in_order_reading_a_batch_at_a_time(
    bus, owner, incident, monkeypatch
):
    channel = document_channel(incident.pk)
    seen = bus.last_id(channel)
    published = [bus.publish(channel, section_saved(version)) for version in range(1, 108)]
    batches = []
    read_batch = RedisBus._replay_batch

    async def counted(self, *args):
        entries = await read_batch(self, *args)
        batches.append(len(entries))
        return entries

    monkeypatch.setattr(RedisBus, "_replay_batch", counted)
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)

    async def reconnect():
        response = await client.get(
            f"/incidents/{incident.ref}/events/", headers={"Last-Event-ID": seen}
        )
        sent, batches_read_by_then = [], []
        async for chunk in response.streaming_content:
            text = chunk.decode()
            if text.startswith("event: ready"):
                return sent, batches_read_by_then, text
            if text.startswith("event: change"):
                sent.append(text.split("id: ", 1)[1].split("\n", 1)[0])
                batches_read_by_then.append(len(batches))
        raise AssertionError("the stream ended before it was ready")

    sent, batches_read_by_then, ready = async_to_sync(reconnect)()

    assert sent == published
    assert '"caught_up": 107' in ready
    assert batches == [50, 50, 7]
    # The next batch is read only once the page has been sent the one before.
    assert batches_read_by_then == [n // 50 + 1 for n in range(107)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_an_event_published_during_a_catch_up_is_sent_once(bus, owner, incident):
    channel = document_channel(incident.pk)
    seen = bus.last_id(channel)
    for version in range(1, 61):
        bus.publish(channel, section_saved(version))
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)

    async def reconnect_while_saves_go_on():
        response = await client.get(
            f"/incidents/{incident.ref}/events/", headers={"Last-Event-ID": seen}
        )
        iterator = aiter(response.streaming_content)
        chunks = [(await anext(iterator)).decode() for _ in range(2)]  # retry, the first change
        # Both in what is left to catch up on and on the stream's subscription.
        await sync_to_async(bus.publish)(channel, section_saved(61))
        while not chunks[-1].startswith("event: ready"):
            chunks.append((await anext(iterator)).decode())
        await sync_to_async(bus.publish)(channel, section_saved(62))
        while '"version": 62' not in chunks[-1]:
            chunks.append((await anext(iterator)).decode())
        await iterator.aclose()
        return chunks

    chunks = async_to_sync(reconnect_while_saves_go_on)()

    changes = [chunk for chunk in chunks if chunk.startswith("event: change")]
    versions = [json.loads(chunk.split("data: ", 1)[1])["version"] for chunk in changes]
    assert versions == list(range(1, 63))


@pytest.mark.django_db(transaction=True)
def test_event_stream_for_an_unknown_incident_is_404(owner):
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)
    response = async_to_sync(client.get)("/incidents/INC-404/events/")
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("bus", ["redis-down"], indirect=True)
def test_with_redis_down_saves_succeed_and_pages_poll(bus, owner_client, owner, incident):
    section = Section.objects.get(postmortem__incident=incident, key="summary")
    response = autosave(owner_client, incident, section, "Saved without Redis", 1)
    assert response.status_code == 200
    since = (timezone.now() - timedelta(minutes=1)).isoformat()
    changes = owner_client.get(f"/incidents/{incident.ref}/changes/", {"since": since})
    assert ("section", section.pk, 2) in [
        (c["kind"], c["id"], c["version"]) for c in changes.json()["changes"]
    ]
    assert owner_client.get(incident.get_absolute_url()).status_code == 200
    assert owner_client.get("/healthz").json()["redis"] == "down"
    assert (
        owner_client.post(f"/incidents/{incident.ref}/presence/", {"tab": "t"}).status_code == 200
    )


@pytest.mark.django_db
def test_polling_reports_deletions_and_who(owner_client, owner, incident):
    since = timezone.now().isoformat()
    entry = factories.timeline_entry(incident)
    owner_client.post(
        f"/incidents/{incident.ref}/entry/{entry.pk}/delete/", {"base_version": entry.version}
    )
    changes = owner_client.get(f"/incidents/{incident.ref}/changes/", {"since": since}).json()
    # Polling overlaps its window by a few seconds (pages skip what they have seen), so the
    # incident's own creation just before may be listed too.
    changes["changes"] = [c for c in changes["changes"] if c["id"] == entry.pk]
    assert [(c["kind"], c["action"]) for c in changes["changes"]] == [
        ("entry", "created"),
        ("entry", "deleted"),
    ]
    assert changes["changes"][1]["by"] == "Priya Raman"


def test_presence_shows_who_is_here_and_forgets_closed_tabs():
    bus = InProcessBus()
    with time_machine.travel("2026-11-23 10:00:00", tick=False) as clock:
        assert bus.presence_beat("c", "1:a", {"name": "Priya", "editing": ""}) is True
        assert bus.presence_beat("c", "1:a", {"name": "Priya", "editing": ""}) is False
        assert bus.presence_beat("c", "1:a", {"name": "Priya", "editing": "section-3"}) is True
        bus.presence_beat("c", "2:b", {"name": "Marcus", "editing": ""})
        assert {p["name"] for p in bus.presence_list("c")} == {"Priya", "Marcus"}
        bus.presence_leave("c", "2:b")
        assert [p["editing"] for p in bus.presence_list("c")] == ["section-3"]
        clock.shift(timedelta(seconds=25))
        assert bus.presence_list("c") == []


@pytest.mark.django_db
def test_presence_endpoint_lists_people(owner_client, teammate, incident, settings):
    other = Client()
    other.force_login(teammate)
    owner_client.post(f"/incidents/{incident.ref}/presence/", {"tab": "a", "editing": ""})
    response = other.post(
        f"/incidents/{incident.ref}/presence/", {"tab": "b", "editing": "section-1"}
    )
    people = {p["name"]: p["editing"] for p in response.json()["people"]}
    assert people == {"Priya Raman": "", "Marcus Webb": "section-1"}
    owner_client.post(f"/incidents/{incident.ref}/presence/leave/", {"tab": "a"})
    response = other.post(f"/incidents/{incident.ref}/presence/", {"tab": "b"})
    assert [p["name"] for p in response.json()["people"]] == ["Marcus Webb"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["redis-down"], indirect=True)
def test_with_redis_down_the_event_stream_says_poll_instead(bus, owner, incident):
    client = AsyncClient()
    async_to_sync(client.aforce_login)(owner)
    response = async_to_sync(client.get)(f"/incidents/{incident.ref}/events/")
    assert response.status_code == 503
    assert b"polls instead" in response.content


def open_reader_stream(token: str):
    return async_to_sync(AsyncClient().get)(f"/s/{token}/events/")


@pytest.mark.django_db(transaction=True)
def test_a_stakeholder_stream_says_only_that_something_changed(bus, owner, incident):
    from postmortems.share_links import share_link_create

    _, token = share_link_create(
        postmortem=incident.postmortem, label="Acme", user=owner, share_draft=True
    )

    async def read_after_a_save():
        # One event loop for the whole stream: the bus wakes the loop that subscribed.
        response = await AsyncClient().get(f"/s/{token}/events/")
        iterator = response.streaming_content.__aiter__()
        first = await iterator.__anext__()
        await sync_to_async(summary_with)(incident, "Changed by Priya Raman", owner)
        second = await iterator.__anext__()
        await iterator.aclose()
        return response, first, second

    response, first, second = async_to_sync(read_after_a_save)()
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert b"event: ready" in first
    assert second == b"event: change\ndata: {}\n\n"  # no names, no details


@pytest.mark.django_db(transaction=True)
def test_revoking_a_link_closes_its_open_stream_and_refuses_new_ones(bus, owner, incident):
    from postmortems.share_links import share_link_create, share_link_revoke

    link, token = share_link_create(postmortem=incident.postmortem, label="Acme", user=owner)

    async def read_after_revoking():
        response = await AsyncClient().get(f"/s/{token}/events/")
        iterator = response.streaming_content.__aiter__()
        await iterator.__anext__()
        await sync_to_async(share_link_revoke)(link=link, user=owner)
        return [chunk async for chunk in iterator]

    assert async_to_sync(read_after_revoking)() == [b"event: gone\ndata: {}\n\n"]
    assert open_reader_stream(token).status_code == 404
    assert open_reader_stream("not-a-token").status_code == 404
