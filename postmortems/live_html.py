"""The HTML live events carry: rendered once per audience when a block changes, sent to all.

A save renders the changed block once for the people who may edit the document and once for
those who only read it (kernel.fragments caches both under the new version, so the next page
load reads them back); an added, deleted or moved block renders its list the same way. Each
event stream passes on only its reader's audience. Times are rendered in UTC and the page
script shows them in the reader's zone, so one rendering serves every zone.
"""

from __future__ import annotations

from datetime import UTC

from django.template.loader import get_template
from django.utils import timezone

from hindsight.bus import LiveEvent
from incidents.models import Incident
from incidents.policy import can_edit
from kernel import fragments
from kernel.kinds import BlockKind, kind_named
from kernel.live import release_connection, sse
from postmortems.document import document_context, document_queryset

# A list longer than this (a timeline of many hundreds of entries) is not pushed to every page
# on each change: pages fetch it, as they do when polling.
LIST_HTML_LIMIT = 256 * 1024
EVENT_ZONE = "UTC"


def render_event_html(kind: BlockKind, block, events: list[dict]) -> None:
    """Give each event the element it replaces (`target`) and its HTML per audience."""
    with timezone.override(UTC):
        incident = None
        for event in events:
            if event["action"] == "saved":
                incident = incident or Incident.objects.select_related(
                    "severity", "owner", "team", "postmortem"
                ).get(pk=kind.incident_id(block))
                fresh = kind.get(incident, block.pk)
                event["target"] = f"{kind.name}-{block.pk}"
                event["html"] = fragments.for_audiences(kind, fresh, document=incident)
            else:
                _list_html(kind_named(event["kind"]), kind.incident_id(block), event)
            if "html" in event:
                event["zone"] = EVENT_ZONE


def _list_html(kind: BlockKind, incident_id: int, event: dict) -> None:
    if kind.list_partial is None:
        return
    document = document_queryset().get(pk=incident_id)
    context = document_context(document)
    parent_id = event.get("parent")
    if kind.parent:
        if not parent_id:
            return
        parent = kind_named(kind.parent).blocks(document).filter(pk=parent_id).first()
        if parent is None:
            return  # the block holding the list is gone too
        context["block"] = parent
        target = f"{kind.list_partial}-{parent_id}"
    else:
        target = kind.list_partial
    template = get_template(f"{kind.template}#{kind.list_partial}")
    html = {}
    for audience in fragments.AUDIENCES:
        html[audience] = template.render({**context, "may_edit": audience == fragments.EDIT})
        if len(html[audience]) > LIST_HTML_LIMIT:
            return
    event["target"] = target
    event["html"] = html


def reader_audience(user, incident_id: int) -> str:
    """Which HTML a person's stream carries: with the controls only if they may edit."""
    try:
        incident = Incident.objects.select_related("team").filter(pk=incident_id).first()
        return fragments.audience(incident is not None and can_edit(user, incident))
    finally:
        release_connection()


def sse_for(name: str, event: LiveEvent, audience: str) -> bytes:
    """The Server-Sent Event for one reader: the HTML of their audience and nothing else.

    Made once per event and audience and shared by every stream of the process that sends it.
    """
    html = event.data.get("html")
    if not isinstance(html, dict):
        return event.encoded(name, lambda e: sse(name, e.data, e.id).encode())
    return event.encoded(
        (name, audience),
        lambda e: sse(name, {**e.data, "html": html.get(audience)}, e.id).encode(),
    )
