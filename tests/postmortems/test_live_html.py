"""Blocks rendered once per version and audience: what events carry, what streams pass on, and
the document page read from the same cache."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from hindsight.bus import LiveEvent
from incidents.policy import READ_ONLY_GROUP
from kernel import fragments
from kernel.blocks import block_create
from kernel.kinds import kind_named
from kernel.live import document_channel
from postmortems.editing import section_update
from postmortems.live_html import sse_for
from postmortems.models import Section
from tests import factories


def summary(incident) -> Section:
    return Section.objects.get(postmortem__incident=incident, key="summary")


def published(bus, incident) -> list[dict]:
    return [event for _, event, _ in bus.events[document_channel(incident.pk)]]


def reader(username: str = "rosa"):
    person = factories.user(username)
    person.groups.add(Group.objects.get_or_create(name=READ_ONLY_GROUP)[0])
    return person


@pytest.mark.django_db
def test_a_save_event_carries_the_block_for_editors_and_for_readers(
    owner, incident, bus, django_capture_on_commit_callbacks
):
    section = summary(incident)
    with django_capture_on_commit_callbacks(execute=True):
        section_update(section, body="Card payments **failed**.", base_version=1, user=owner)

    event = published(bus, incident)[-1]
    assert (event["action"], event["target"], event["version"]) == (
        "saved",
        f"section-{section.pk}",
        2,
    )
    assert "<strong>failed</strong>" in event["html"]["edit"]
    assert "<strong>failed</strong>" in event["html"]["read"]
    assert 'data-do="edit"' in event["html"]["edit"]
    assert 'data-do="edit"' not in event["html"]["read"]
    # Nothing in it is anyone's own: no CSRF token, no name of who is looking.
    assert "csrfmiddlewaretoken" not in event["html"]["edit"]


@pytest.mark.django_db
def test_a_stream_passes_on_only_its_readers_html(
    owner, incident, bus, django_capture_on_commit_callbacks
):
    section = summary(incident)
    with django_capture_on_commit_callbacks(execute=True):
        section_update(section, body="Checkout failed.", base_version=1, user=owner)
    event = published(bus, incident)[-1]

    for audience, other in (("read", "edit"), ("edit", "read")):
        text = sse_for("change", LiveEvent("7-0", event, size=0), audience)
        sent = json.loads(text.decode().split("data: ", 1)[1])
        assert sent["html"] == event["html"][audience] != event["html"][other]


def test_every_stream_of_an_audience_sends_the_same_bytes_made_once():
    event = LiveEvent("7-0", {"type": "block", "html": {"edit": "<p>e</p>", "read": "<p>r</p>"}}, 0)

    for_readers = [sse_for("change", event, "read") for _ in range(3)]
    for_editors = sse_for("change", event, "edit")

    assert all(sent is for_readers[0] for sent in for_readers)
    assert b"<p>r</p>" in for_readers[0] and b"<p>e</p>" in for_editors


@pytest.mark.django_db
def test_an_added_entry_sends_its_list_as_the_page_shows_it(
    owner, incident, bus, django_capture_on_commit_callbacks
):
    entry = factories.timeline_entry(incident, text="Paged the database team", user=owner)
    entry.pk = None
    entry.text = "Rolled back to 4.12.0"
    with django_capture_on_commit_callbacks(execute=True):
        block_create(block=entry, user=owner)

    # The entry's own event; the header's refresh (its picture marks every entry) follows it.
    event = next(e for e in published(bus, incident) if e["action"] == "created")
    assert event["target"] == "timeline"
    for html in event["html"].values():
        assert html.startswith('\n<section class="doc-part" id="timeline"')
        assert "Rolled back to 4.12.0" in html and "Paged the database team" in html
    assert "Add timeline entry" in event["html"]["edit"]
    assert "Add timeline entry" not in event["html"]["read"]


@pytest.mark.django_db
def test_the_document_page_renders_each_block_once_per_version(
    owner_client, owner, incident, monkeypatch
):
    for n in range(30):
        factories.timeline_entry(incident, text=f"Step {n}", user=owner)
    rendered = []
    render = fragments.render
    monkeypatch.setattr(fragments, "render", lambda *a, **k: rendered.append(1) or render(*a, **k))

    first = owner_client.get(incident.get_absolute_url())
    assert first.status_code == 200 and len(rendered) > 30
    rendered.clear()
    again = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Step 29" in again
    assert rendered == []

    section = summary(incident)
    section_update(section, body="Written since.", base_version=section.version, user=owner)
    after = owner_client.get(incident.get_absolute_url()).content.decode()
    assert "Written since." in after
    assert len(rendered) == 1  # the section's new version, nothing else


@pytest.mark.django_db
def test_the_document_page_asks_the_same_number_of_queries_for_a_long_timeline(
    owner_client, owner, incident
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            owner_client.get(incident.get_absolute_url())
        return len(captured)

    factories.timeline_entry(incident, text="The first", user=owner)
    factories.action_item(incident, title="Page the second on-call")
    queries()  # the session settles
    cache.clear()
    short_afresh = queries()  # nothing of the page was cached
    short = queries()
    for n in range(40):
        factories.timeline_entry(incident, text=f"Step {n}", user=owner)
    factories.action_item(incident, title="Alert on pool saturation")
    # The long lists changed, so they are loaded and rendered afresh, then reused whole.
    cache.clear()
    assert queries() == short_afresh
    assert queries() == short < short_afresh


@pytest.mark.django_db
def test_a_reader_gets_no_controls_and_an_editor_one_set_per_long_list(
    owner_client, owner, incident
):
    for n in range(5):
        factories.timeline_entry(incident, text=f"Step {n}", user=owner)
    client = Client()
    client.force_login(reader())

    read = client.get(incident.get_absolute_url()).content.decode()
    edit = owner_client.get(incident.get_absolute_url()).content.decode()

    assert 'data-do="edit"' not in read and 'id="controls-entry"' not in read
    assert 'data-do="edit"' in edit
    # The entries' controls are one template the page script moves to the entry in use.
    assert edit.count('id="controls-entry"') == 1
    assert edit.count("Delete<span") < 5


@pytest.mark.django_db
def test_a_block_shown_after_its_save_says_saved_to_the_saver_only(owner_client, incident):
    kind = kind_named("section")
    section = summary(incident)
    url = f"/incidents/{incident.ref}/section/{section.pk}/"
    saved = owner_client.get(url + "?saved=1").content.decode()
    plain = owner_client.get(url).content.decode()
    cached = fragments.block_html(kind, section, document=incident, audience_=fragments.EDIT)
    assert "Saved." in saved and "Saved." not in plain
    assert plain == cached
