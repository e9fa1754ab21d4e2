"""The incident's picture: its phases between milestones on a time axis, each timeline entry a
marker by kind, drawn as server-side SVG (no script, prints to PDF, works in the stakeholder
page), with every figure also said in words beside it so a phone can read it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from incidents.milestones import METRICS
from incidents.models import Incident, TimelineEntry
from kernel.fragments import template_stamp

WIDTH = 1000
PICTURE_SECONDS = 24 * 60 * 60
# What the time between one milestone and the next is called, by the milestone it starts at.
PHASES = {
    "started": "Before anyone knew",
    "detected": "Waiting for a responder",
    "acknowledged": "Responding",
    "escalated": "Responding, escalated",
    "mitigated": "Mitigated, recovering",
}
MILESTONE_LABELS = {
    "started": "Started",
    "detected": "Detected",
    "acknowledged": "Acknowledged",
    "escalated": "Escalated",
    "mitigated": "Mitigated",
    "resolved": "Resolved",
}
KIND_LABELS = dict(TimelineEntry.Kind.choices)


@dataclass
class Span:
    key: str
    label: str
    x: float
    width: float
    length: timedelta


@dataclass
class Marker:
    x: float
    kind: str
    label: str
    when: datetime
    text: str


def _values(source: Incident | dict) -> tuple[dict[str, datetime | None], list[tuple]]:
    """Milestone times and (time, kind, text) of each entry, from a row or a reader snapshot."""
    if isinstance(source, dict):
        times = {key: source.get(f"{key}_at") for key in MILESTONE_LABELS}
        entries = [(e["occurred_at"], e["kind"], e["text"]) for e in source.get("timeline", [])]
    else:
        times = {key: getattr(source, f"{key}_at") for key in MILESTONE_LABELS}
        entries = list(source.timeline.values_list("occurred_at", "kind", "text"))
    return times, entries


def _metrics(times: dict[str, datetime | None]) -> list[tuple[str, timedelta | None]]:
    out = []
    for metric in METRICS:
        start, end = times.get(metric.start), times.get(metric.end)
        out.append((metric.label, end - start if start and end else None))
    return out


def _marker_paths(markers: list[Marker]) -> SafeString:
    """The markers' SVG, joined here rather than in the template: a long timeline has hundreds
    of them, and the template's loop and date filter cost more than the rest of the page."""
    return format_html_join(
        "",
        '<path class="marker kind-{}" d="M{} 2v16"><title>{} {}</title></path>',
        (
            (marker.kind, marker.x, marker.label, timezone.localtime(marker.when).strftime("%H:%M"))
            for marker in markers
        ),
    )


def picture_context(source: Incident | dict) -> dict:
    times, entries = _values(source)
    start = times["started"]
    known = sorted(
        ((when, key) for key, when in times.items() if when is not None), key=lambda t: t[0]
    )
    moments = [when for when, _ in known] + [when for when, _, _ in entries]
    end = max(moments) if moments else start
    total = max((end - start).total_seconds(), 60.0)

    def x(when: datetime) -> float:
        return round(max(0.0, min(1.0, (when - start).total_seconds() / total)) * WIDTH, 1)

    spans = [
        Span(key, PHASES[key], x(when), x(following) - x(when), following - when)
        for (when, key), (following, _) in zip(known, known[1:], strict=False)
        if key in PHASES
    ]
    markers = [
        Marker(x(when), kind, KIND_LABELS.get(kind, kind), when, text[:120])
        for when, kind, text in entries
    ]
    milestones = [(x(when), key, MILESTONE_LABELS[key], when) for when, key in known]
    resolved = times["resolved"] is not None
    return {
        "start": start,
        "end": end,
        "resolved": resolved,
        "spans": spans,
        "markers": markers,
        "marker_paths": _marker_paths(markers),
        "milestones": milestones,
        "metrics": _metrics(times),
        "kinds": sorted({(m.kind, m.label) for m in markers}),
    }


def incident_picture(source: Incident | dict, versions=None) -> SafeString:
    """The picture of an incident, or of a reader snapshot. `versions`: the timeline's entries
    as (id, version), where the page has read them already."""
    if isinstance(source, dict):
        return render_to_string("postmortems/picture.html", picture_context(source))
    # Drawn once per state of the incident and its timeline (and time zone), then reused by
    # every page load: a long timeline makes it the costliest part of the header.
    # The entries' versions only: the page may not have loaded the entries themselves.
    if versions is None:
        versions = source.timeline.values_list("pk", "version")
    entries = ",".join(f"{pk}.{version}" for pk, version in versions)
    key = "picture:{}:{}:{}:{}:{}:{}".format(
        settings.DATABASES["default"]["NAME"],
        template_stamp("postmortems/picture.html"),
        source.pk,
        source.version,
        timezone.get_current_timezone_name(),
        hashlib.blake2s(entries.encode(), digest_size=12).hexdigest(),
    )
    html = cache.get(key)
    if html is None:
        html = render_to_string("postmortems/picture.html", picture_context(source))
        cache.set(key, str(html), PICTURE_SECONDS)
    return mark_safe(html)  # noqa: S308 - a rendered template
