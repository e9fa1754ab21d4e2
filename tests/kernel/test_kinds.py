"""Every registered block kind does the full round: edit, stale save, history, live, revert.

The kinds come from the registry, so a kind an app registers is tested by being registered;
the only thing a new kind adds here is a sample below (how to make one, what to change), and
`test_every_editable_kind_has_a_sample` fails until it does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from actions.meetings import meeting_schedule
from actions.models import MeetingDecision, MeetingDissent
from kernel.history import document_history
from kernel.kinds import kinds
from kernel.live import document_channel
from postmortems.models import Section
from tests import factories
from tests.live import events_after

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}

# kind name → (make a block of it in an incident, the field to change, mine, theirs).
SAMPLES = {
    "incident": (lambda incident: incident, "title", "Checkout down for EU", "Checkout slow"),
    "section": (
        lambda incident: Section.objects.get(postmortem__incident=incident, key="summary"),
        "body",
        "Checkout failed for 47 minutes.",
        "Payments were refused.",
    ),
    "entry": (lambda incident: factories.timeline_entry(incident), "text", "Paged", "Rolled back"),
    "cause": (lambda incident: factories.cause(incident), "statement", "Pool too small", "No cap"),
    "why": (
        lambda incident: factories.cause(incident, whys=1).whys.get(),
        "question",
        "Why did the pool run dry?",
        "Why was there no alert?",
    ),
    "action": (lambda incident: factories.action_item(incident), "title", "Add alert", "Cap pool"),
    "risk": (
        lambda incident: factories.accepted_risk(factories.cause(incident)),
        "reason",
        "A second region costs more than a yearly hour of downtime.",
        "The vendor fixes it next quarter.",
    ),
    "meeting": (
        lambda incident: meeting(incident),
        "location",
        "Room Ada",
        "The video call",
    ),
    "attendee": (
        lambda incident: meeting(incident).attendance.get(),
        "presence",
        "present",
        "absent",
    ),
    "decision": (
        lambda incident: MeetingDecision.objects.create(meeting=meeting(incident), text="Keep it"),
        "text",
        "Pool limits get an owner.",
        "Alerts come first.",
    ),
    "dissent": (
        lambda incident: MeetingDissent.objects.create(
            meeting=meeting(incident), author=incident.owner, text="Not the cause"
        ),
        "text",
        "The default was reasonable.",
        "The alert was the gap.",
    ),
    "image": (
        lambda incident: factories.image(incident),
        "caption",
        "Error rate at 14:05",
        "Pool size",
    ),
}


def meeting(incident):
    return meeting_schedule(
        incident=incident,
        scheduled_at=timezone.now() + timedelta(days=2),
        location="",
        attendees=[incident.owner],
        user=incident.owner,
    )


def editable_kinds():
    return [kind for kind in kinds() if kind.editable]


def form_data(kind, block, **changes) -> dict:
    """What the block's own edit form would post, with `changes` typed over it."""
    form = kind.form(instance=block, initial={"base_version": block.version})
    data = {}
    for field in form:
        value = field.value()
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[field.name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[field.name] = "on"
        elif hasattr(value, "isoformat"):
            data[field.name] = field.field.widget.format_value(value)
        else:
            data[field.name] = str(value)
    if kind.parent:
        data[kind.parent] = str(kind.parent_id(block))
    return {**data, **changes}


def test_every_editable_kind_has_a_sample():
    assert {kind.name for kind in editable_kinds()} <= set(SAMPLES)


@pytest.mark.parametrize("kind", editable_kinds(), ids=lambda kind: kind.name)
def test_a_kind_does_the_full_round(
    kind, owner_client, owner, incident, in_process_bus, django_capture_on_commit_callbacks
):
    make, field, mine, theirs = SAMPLES[kind.name]
    full_round(
        kind,
        make(incident),
        field,
        mine,
        theirs,
        owner_client=owner_client,
        owner=owner,
        incident=incident,
        bus=in_process_bus,
        capture=django_capture_on_commit_callbacks,
    )


def full_round(kind, block, field, mine, theirs, *, owner_client, owner, incident, bus, capture):
    in_process_bus = bus
    django_capture_on_commit_callbacks = capture
    original = getattr(block, field)
    url = f"/incidents/{incident.ref}/{kind.name}/{block.pk}/"
    channel = document_channel(incident.pk)
    before = in_process_bus.last_id(channel)

    # Edit: saved, version + 1, and open pages are told.
    with django_capture_on_commit_callbacks(execute=True):
        saved = owner_client.post(url, form_data(kind, block, **{field: mine}), headers=HTMX)
    assert saved.status_code == 200, saved.content.decode()[:500]
    block.refresh_from_db()
    assert (getattr(block, field), block.version) == (mine, 2)
    events = events_after(in_process_bus, channel, before)
    # (A change to the incident's details also tells open streams to ask again who may see it.)
    blocks = [e for _, e in events if e.get("type") != "access"]
    assert [(e["kind"], e["id"], e["action"], e["version"]) for e in blocks] == [
        (kind.name, block.pk, "saved", 2),
        # Lists showing something of this kind (causes show their action items) are re-read.
        *[(name, 0, "refresh", f"{kind.name}-{block.pk}-2-saved") for name in kind.refreshes],
    ]

    # Stale save from version 1: nothing is overwritten, and the form comes back as a conflict.
    stale = form_data(kind, block, **{field: theirs, "base_version": "1"})
    refused = owner_client.post(url, stale, headers=HTMX)
    assert refused.status_code == 409
    assert "Someone changed this while you were editing" in refused.content.decode()
    block.refresh_from_db()
    assert (getattr(block, field), block.version) == (mine, 2)

    # History: the change is there, with who made it and the field that changed.
    changed = [
        c for c in document_history(incident) if (c.kind, c.record.id) == (kind.name, block.pk)
    ]
    assert changed[0].action == "changed" and changed[0].who == owner
    assert kind.model._meta.get_field(field).verbose_name in [f.name for f in changed[0].fields]

    # Revert to the first version: the old value comes back as a new version.
    first = kind.model.history.filter(id=block.pk).order_by("history_id").first()
    reverted = owner_client.post(
        f"/incidents/{incident.ref}/history/{kind.name}/{first.history_id}/revert/"
    )
    assert reverted.status_code == 302
    block.refresh_from_db()
    assert (getattr(block, field), block.version) == (original, 3)
