"""Event streams follow access: taken away, the stream ends; a reader hears only what their
link shows; a hidden-names link hides the names typed into the text too."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client
from django.urls import reverse

from hindsight.bus import get_bus
from incidents.editing import incident_update
from postmortems.editing import section_update
from postmortems.publishing.workflow import postmortem_submit_for_review
from postmortems.share_links import share_link_create
from tests import factories


def _remove_responder(incident, person, by):
    """The owner saves the header without `person` among the responders."""
    incident.refresh_from_db()
    incident_update(
        incident,
        base_version=incident.version,
        user=by,
        responders=[r for r in incident.responders.all() if r != person],
    )


@pytest.mark.django_db(transaction=True)
def test_removing_a_responder_ends_their_open_stream_at_once(bus, owner, outsider):
    incident = factories.incident(owner=owner, private=True)
    incident.responders.add(outsider)

    async def read_until_removed():
        client = AsyncClient()
        await client.aforce_login(outsider)
        response = await client.get(reverse("document-events", args=[incident.ref]))
        chunks = response.streaming_content.__aiter__()
        await chunks.__anext__()  # retry
        await chunks.__anext__()  # ready
        await sync_to_async(_remove_responder)(incident, outsider, owner)
        # Well within a second: the header event makes the stream ask again.
        rest = await asyncio.wait_for(_all(chunks), timeout=1.0)
        return response.status_code, rest

    status, rest = async_to_sync(read_until_removed)()
    assert status == 200
    assert rest[-1].startswith(b"event: gone")
    assert b"no longer have access" in rest[-1]
    client = Client()
    client.force_login(outsider)
    assert client.get(reverse("document", args=[incident.ref])).status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bus", ["in-process", "redis"], indirect=True)
def test_removing_a_responder_during_their_catch_up_ends_it_there(bus, owner, outsider):
    incident = factories.incident(owner=owner, private=True)
    incident.responders.add(outsider)
    channel = f"incident:{incident.pk}"
    seen = bus.last_id(channel)
    for version in range(60):  # more than one batch to catch up on
        bus.publish(channel, {"type": "block", "kind": "section", "id": 1, "version": version})

    async def catch_up_while_removed():
        client = AsyncClient()
        await client.aforce_login(outsider)
        response = await client.get(
            reverse("document-events", args=[incident.ref]), headers={"Last-Event-ID": seen}
        )
        chunks = response.streaming_content.__aiter__()
        await chunks.__anext__()  # retry
        await chunks.__anext__()  # the first event missed
        await sync_to_async(_remove_responder)(incident, outsider, owner)
        return await asyncio.wait_for(_all(chunks), timeout=2.0)

    rest = async_to_sync(catch_up_while_removed)()
    assert rest[-1].startswith(b"event: gone")
    assert not any(b'"kind": "incident"' in chunk for chunk in rest)  # the header change


async def _all(chunks) -> list[bytes]:
    return [chunk async for chunk in chunks]


@pytest.mark.django_db(transaction=True)
def test_a_published_version_link_hears_publications_not_draft_work(bus, owner, incident):
    _, token = share_link_create(postmortem=incident.postmortem, label="Acme", user=owner)
    section = incident.postmortem.sections.get(key="summary")

    async def read():
        response = await AsyncClient().get(f"/s/{token}/events/")
        chunks = response.streaming_content.__aiter__()
        await chunks.__anext__()  # ready
        await sync_to_async(section_update)(section, body="Draft work", base_version=1, user=owner)
        bus = get_bus()
        await sync_to_async(bus.publish)(f"incident:{incident.pk}", {"type": "presence"})
        await sync_to_async(postmortem_submit_for_review)(
            postmortem=incident.postmortem, user=owner
        )
        heard = await asyncio.wait_for(chunks.__anext__(), timeout=2.0)
        await chunks.aclose()
        return heard

    # The draft save and the presence went by unheard; the status change is the first word.
    assert async_to_sync(read)() == b"event: change\ndata: {}\n\n"


@pytest.mark.django_db
def test_hide_names_also_hides_the_names_typed_into_the_text(client, owner, teammate):
    incident = factories.incident(owner=owner)
    incident.responders.add(teammate)
    incident.postmortem.sections.filter(key="summary").update(
        body="Priya paged Marcus Webb; marcus restarted the pool while priya watched."
    )
    factories.timeline_entry(incident, text="Marcus rolled back. Webb's note: all clear.")
    factories.timeline_entry(incident, text="Marcusville datacenter unaffected.")
    _, token = share_link_create(
        postmortem=incident.postmortem,
        label="Customers",
        user=owner,
        hide_names=True,
        share_draft=True,
    )

    page = client.get(f"/s/{token}/").text

    assert "the incident owner paged responder 1; responder 1 restarted the pool" in page
    assert "while the incident owner watched" in page
    assert "responder 1 rolled back. responder 1&#x27;s note: all clear." in page
    assert "Marcusville datacenter" in page  # a word containing a name is not a name
    for name in ("Priya", "Marcus ", "Webb", "Raman"):
        assert name not in page.replace("Marcusville", ""), name


@pytest.mark.django_db(transaction=True)
def test_leaving_the_owning_team_ends_the_stream_of_a_private_incident(bus, owner, outsider):
    team = factories.team("Security")
    team.members.add(outsider)
    incident = factories.incident(owner=owner, team=team, private=True)

    async def read_until_removed():
        client = AsyncClient()
        await client.aforce_login(outsider)
        response = await client.get(reverse("document-events", args=[incident.ref]))
        chunks = response.streaming_content.__aiter__()
        await chunks.__anext__()  # retry
        await chunks.__anext__()  # ready
        # As the admin site or the team page would: the membership changes, nothing else.
        await sync_to_async(team.members.remove)(outsider)
        return await asyncio.wait_for(_all(chunks), timeout=1.0)

    rest = async_to_sync(read_until_removed)()
    assert rest[-1].startswith(b"event: gone")
