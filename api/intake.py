"""Alerts into incidents: one open incident per dedup key, every delivery counted once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from api.alert_formats import FORMATS, Alert
from api.models import AlertDelivery, AlertLink, AlertMapping, AlertSource
from incidents.editing import incident_update
from incidents.models import Incident, Service, Severity, TimelineEntry
from incidents.opening import incident_open
from kernel.blocks import block_create
from kernel.kinds import kind_named

SEVERITY_WORDS = re.compile(r"^(?:sev|p)?\s*([1-9])$", re.IGNORECASE)


@dataclass
class IntakeResult:
    incident: Incident | None
    opened: bool = False
    repeated_delivery: bool = False
    detail: str = ""


@dataclass
class Placement:
    severity: Severity
    services: list[Service]
    team_id: int | None


def alert_placement(source: AlertSource, labels: dict[str, str]) -> Placement:
    """Severity, services and team from the labels, through the mappings an admin keeps.

    A mapping wins over the fallbacks: a severity label spelled like a level ("sev2", "P1",
    "2"), a service label naming a service, the source's defaults, the least severe level.
    """
    severity = service = team_id = None
    mappings = AlertMapping.objects.filter(Q(source=source) | Q(source__isnull=True))
    for mapping in mappings.select_related("severity", "service"):
        if labels.get(mapping.label) != mapping.value:
            continue
        severity = severity or mapping.severity
        service = service or mapping.service
        team_id = team_id or mapping.team_id
    if severity is None:
        match = SEVERITY_WORDS.match(labels.get("severity", "").strip())
        if match:
            severity = Severity.objects.filter(level=int(match.group(1))).first()
    if service is None and labels.get("service"):
        name = labels["service"]
        service = Service.objects.filter(Q(slug=name) | Q(name__iexact=name)).first()
    severity = severity or source.default_severity or Severity.objects.order_by("-level").first()
    team_id = team_id or (service.team_id if service else None) or source.default_team_id
    return Placement(severity=severity, services=[service] if service else [], team_id=team_id)


def _label(source: AlertSource) -> str:
    return FORMATS[source.kind].label


def _note(
    incident: Incident, source: AlertSource, alert: Alert, text: str, *, kind, when, summary=True
) -> None:
    lines = [text]
    if summary and alert.summary:
        lines.append(alert.summary)
    if alert.url:
        lines.append(alert.url)
    entry = TimelineEntry(
        incident=incident,
        occurred_at=max(when, incident.started_at),
        kind=kind,
        text="\n".join(lines)[:5000],
        added_by=source.opened_as,
        source=TimelineEntry.Source.API,
    )
    block_create(block=entry, user=source.opened_as)


def _open(source: AlertSource, alert: Alert, now) -> Incident:
    placement = alert_placement(source, alert.labels)
    started = min(alert.starts_at or now, now)
    incident = Incident(
        title=alert.title,
        severity=placement.severity,
        started_at=started,
        detected_at=now,
        team_id=placement.team_id,
    )
    incident_open(incident=incident, services=placement.services, user=source.opened_as)
    _note(
        incident,
        source,
        alert,
        f"{_label(source)} alert firing: {alert.title}",
        kind=TimelineEntry.Kind.DETECTION,
        when=started,
    )
    return incident


def _mark_mitigated(incident: Incident, source: AlertSource, when) -> None:
    """Record the mitigation time once; a person's edit in between wins over the alert."""
    if incident.mitigated_at is not None:
        return
    result = incident_update(
        incident,
        base_version=incident.version,
        user=source.opened_as,
        mitigated_at=max(when, incident.started_at),
    )
    if result.saved:
        kind_named("incident").after_save(result.block)


def _open_link(source: AlertSource, key: str) -> AlertLink | None:
    """The key's open link, locked; a link whose incident is over is closed on the way."""
    link = (
        AlertLink.objects.select_for_update(of=("self",))
        .select_related("incident")
        .filter(source=source, dedup_key=key, open=True)
        .first()
    )
    if link is not None and (link.incident is None or not link.incident.is_active):
        link.open = False
        link.save(update_fields=["open"])
        return None
    return link


def alert_receive(*, source: AlertSource, alert: Alert, delivery_id: str) -> IntakeResult:
    """Act on one delivery of an alert.

    1. Claim the delivery id: a retry of a delivery already acted on changes nothing and
       answers as before.
    2. Firing: join the key's open incident, or insert the key's link first (two racing
       deliveries meet at its partial unique index: the second waits, fails, and joins what
       the first opened), then open the incident.
    3. Resolved: note it on the open incident's timeline, and mark it mitigated if the source
       says so.
    4. Anything else (PagerDuty's acknowledgements, say): a timeline note on the open incident.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = AlertDelivery.objects.create(
                    source=source, delivery_id=delivery_id, status=alert.status
                )
        except IntegrityError:
            seen = (
                AlertDelivery.objects.select_related("link__incident")
                .filter(source=source, delivery_id=delivery_id)
                .first()
            )
            incident = seen.link.incident if seen and seen.link else None
            return IntakeResult(incident, repeated_delivery=True, detail="Already received.")

        link = _open_link(source, alert.dedup_key)
        if alert.status == "firing":
            if link is None:
                try:
                    with transaction.atomic():
                        link = AlertLink.objects.create(source=source, dedup_key=alert.dedup_key)
                except IntegrityError:
                    link = _open_link(source, alert.dedup_key)
                else:
                    link.incident = _open(source, alert, now)
                    link.save(update_fields=["incident"])
                    delivery.link = link
                    delivery.save(update_fields=["link"])
                    return IntakeResult(link.incident, opened=True, detail="Incident opened.")
            delivery.link = link
            delivery.save(update_fields=["link"])
            return IntakeResult(link.incident, detail="The alert joined its open incident.")

        if link is None:
            return IntakeResult(None, detail="No open incident for this alert; nothing to do.")
        delivery.link = link
        delivery.save(update_fields=["link"])
        incident = link.incident
        if alert.status == "resolved":
            when = alert.ends_at or now
            _note(
                incident,
                source,
                alert,
                f"{_label(source)} alert resolved: {alert.title}",
                kind=TimelineEntry.Kind.MITIGATION
                if source.mitigate_on_resolve
                else TimelineEntry.Kind.NOTE,
                when=when,
            )
            if source.mitigate_on_resolve:
                _mark_mitigated(Incident.objects.get(pk=incident.pk), source, when)
            return IntakeResult(incident, detail="Resolution noted on the incident.")
        _note(
            incident,
            source,
            alert,
            f"{_label(source)}: {alert.summary or 'update'} ({alert.title})",
            kind=TimelineEntry.Kind.NOTE,
            when=now,
            summary=False,
        )
        return IntakeResult(incident, detail="Update noted on the incident.")
