"""How each alerting tool proves who it is and what its deliveries say.

One registry, `FORMATS`, holds every source: its check of the delivery's secret or signature,
and its reading of the payload into `Alert`s that intake understands. Adding a source is adding
one entry here.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# Grafana signs `timestamp:body` when it sends a timestamp; older deliveries are replays.
SIGNATURE_MAX_AGE_SECONDS = 300
ONE_LINE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass
class Alert:
    """What intake needs from any source's delivery."""

    dedup_key: str
    status: Literal["firing", "resolved", "update"]
    title: str
    summary: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str = ""


class AlertPayloadError(ValueError):
    """The delivery is not what its source sends; the message says what is wrong."""


def one_line(value: Any, limit: int) -> str:
    return ONE_LINE.sub(" ", str(value or "")).strip()[:limit]


def _clean(value: str, limit: int = 5000) -> str:
    return str(value or "").replace("\x00", "")[:limit]


def _sane(moment: datetime | None) -> datetime | None:
    # Alertmanager sends 0001-01-01T00:00:00Z for "not ended"; anything absurd means unknown.
    if moment is None or moment.tzinfo is None or not 1970 <= moment.year <= 2999:
        return None
    return moment


class Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class PromAlert(Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    startsAt: datetime | None = None  # noqa: N815 (the sender's names)
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class PromNotification(Lenient):
    """Alertmanager's webhook (version 4); Grafana's contact point sends the same and more."""

    version: str = "4"
    groupKey: str = Field(min_length=1, max_length=2000)  # noqa: N815
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = {}  # noqa: N815
    commonLabels: dict[str, str] = {}  # noqa: N815
    commonAnnotations: dict[str, str] = {}  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[PromAlert] = Field(min_length=1, max_length=1000)
    # Grafana only.
    title: str = ""
    message: str = ""


def _prom_alert(data: dict) -> Alert:
    note = PromNotification.model_validate(data)
    labels = {**note.commonLabels, **note.groupLabels}
    first = note.alerts[0]
    name = labels.get("alertname") or first.labels.get("alertname") or "Alert"
    summary = (
        note.commonAnnotations.get("summary")
        or first.annotations.get("summary")
        or note.commonAnnotations.get("description")
        or note.message
    )
    title = note.title or (f"{name}: {summary}" if summary else name)
    starts = [a.startsAt for a in note.alerts if _sane(a.startsAt)]
    ends = [a.endsAt for a in note.alerts if _sane(a.endsAt)]
    return Alert(
        dedup_key=note.groupKey,
        status=note.status,
        title=one_line(title, 200),
        summary=_clean(summary),
        labels={k: one_line(v, 200) for k, v in labels.items()},
        starts_at=min(starts) if starts else None,
        ends_at=max(ends) if ends and note.status == "resolved" else None,
        url=first.generatorURL or note.externalURL,
    )


class PagerDutyRef(Lenient):
    id: str = ""
    summary: str = ""
    html_url: str = ""


class PagerDutyIncident(Lenient):
    id: str = Field(min_length=1, max_length=200)
    title: str = ""
    status: str = ""
    html_url: str = ""
    urgency: str = ""
    created_at: datetime | None = None
    service: PagerDutyRef | None = None
    priority: PagerDutyRef | None = None
    teams: list[PagerDutyRef] = []


class PagerDutyEvent(Lenient):
    id: str = Field(min_length=1, max_length=200)
    event_type: str = Field(max_length=100)
    resource_type: str = ""
    occurred_at: datetime | None = None
    agent: PagerDutyRef | None = None
    data: PagerDutyIncident

    @field_validator("event_type")
    @classmethod
    def incident_events_only(cls, value: str) -> str:
        if not value.startswith("incident."):
            raise ValueError("only incident.* events are read")
        return value


class PagerDutyWebhook(Lenient):
    event: PagerDutyEvent


PAGERDUTY_STATUS = {"incident.triggered": "firing", "incident.resolved": "resolved"}


def _pagerduty_alert(data: dict) -> Alert:
    event = PagerDutyWebhook.model_validate(data).event
    incident = event.data
    labels = {"urgency": incident.urgency}
    if incident.service:
        labels["service"] = incident.service.summary
    if incident.priority:
        labels["priority"] = incident.priority.summary
    if incident.teams:
        labels["team"] = incident.teams[0].summary
    status = PAGERDUTY_STATUS.get(event.event_type, "update")
    summary = ""
    if status == "update":
        who = f" by {event.agent.summary}" if event.agent and event.agent.summary else ""
        summary = f"{event.event_type.removeprefix('incident.').replace('_', ' ')}{who}"
    return Alert(
        dedup_key=incident.id,
        status=status,
        title=one_line(incident.title or f"PagerDuty incident {incident.id}", 200),
        summary=_clean(summary),
        labels={k: one_line(v, 200) for k, v in labels.items() if v},
        starts_at=_sane(incident.created_at),
        ends_at=_sane(event.occurred_at) if status == "resolved" else None,
        url=incident.html_url,
    )


class GenericAlert(Lenient):
    dedup_key: str = Field(min_length=1, max_length=500)
    status: Literal["firing", "resolved"] = "firing"
    title: str = Field("", max_length=2000)
    severity: str | int | None = None
    service: str | None = Field(None, max_length=200)
    team: str | None = Field(None, max_length=200)
    summary: str = Field("", max_length=5000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    url: str = Field("", max_length=500)
    delivery_id: str | None = Field(None, max_length=200)
    labels: dict[str, str] = {}


def _generic_alert(data: dict) -> Alert:
    alert = GenericAlert.model_validate(data)
    if alert.status == "firing" and not alert.title.strip():
        raise AlertPayloadError("title: a firing alert needs a title.")
    labels = dict(alert.labels)
    for name in ("severity", "service", "team"):
        value = getattr(alert, name)
        if value not in (None, ""):
            labels[name] = str(value)
    return Alert(
        dedup_key=alert.dedup_key.replace("\x00", ""),
        status=alert.status,
        title=one_line(alert.title or alert.dedup_key, 200),
        summary=_clean(alert.summary),
        labels={one_line(k, 100): one_line(v, 200) for k, v in labels.items()},
        starts_at=_sane(alert.starts_at),
        ends_at=_sane(alert.ends_at),
        url=one_line(alert.url, 500),
    )


# Proving who sent it -----------------------------------------------------------------------


def _bearer(request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _same(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_bearer_secret(request, secret: str) -> bool:
    return _same(_bearer(request), secret) or _same(
        request.headers.get("X-Hindsight-Secret", ""), secret
    )


def verify_grafana(request, secret: str) -> bool:
    """Grafana's HMAC (X-Grafana-Alerting-Signature), or its bearer credentials."""
    signature = request.headers.get("X-Grafana-Alerting-Signature", "")
    if not signature:
        return verify_bearer_secret(request, secret)
    timestamp = request.headers.get("X-Grafana-Alerting-Signature-Timestamp", "")
    message = request.body
    if timestamp:
        if (
            not timestamp.isdigit()
            or abs(time.time() - int(timestamp[:12])) > SIGNATURE_MAX_AGE_SECONDS
        ):
            return False
        message = timestamp.encode() + b":" + request.body
    return _same(signature.strip().lower(), _sign(secret, message))


def verify_pagerduty(request, secret: str) -> bool:
    """`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]`: any one signature made with our secret."""
    expected = _sign(secret, request.body)
    header = request.headers.get("X-PagerDuty-Signature", "")
    return any(
        _same(part.strip().removeprefix("v1="), expected)
        for part in header.split(",")
        if part.strip().startswith("v1=")
    )


@dataclass(frozen=True)
class AlertFormat:
    name: str
    label: str
    verify: Callable[[Any, str], bool]
    parse: Callable[[dict], Alert]
    # Where a delivery names itself, so a retry is known; otherwise its body's hash does.
    delivery_id: Callable[[Any, dict], str | None] = lambda request, data: None


def _body_hash(request) -> str:
    return hashlib.sha256(request.body).hexdigest()


FORMATS: dict[str, AlertFormat] = {
    f.name: f
    for f in (
        AlertFormat("alertmanager", "Alertmanager", verify_bearer_secret, _prom_alert),
        AlertFormat("grafana", "Grafana", verify_grafana, _prom_alert),
        AlertFormat(
            "pagerduty",
            "PagerDuty",
            verify_pagerduty,
            _pagerduty_alert,
            delivery_id=lambda request, data: str(data["event"]["id"])[:200],
        ),
        AlertFormat(
            "generic",
            "Generic alert",
            verify_bearer_secret,
            _generic_alert,
            delivery_id=lambda request, data: data.get("delivery_id") or None,
        ),
    )
}


def read_alert(fmt: AlertFormat, request, data: Any) -> tuple[Alert, str]:
    """The alert a delivery carries and the delivery's id; AlertPayloadError when unreadable."""
    if not isinstance(data, dict):
        raise AlertPayloadError("The body must be a JSON object.")
    try:
        alert = fmt.parse(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in error.errors()[:5]
        )
        raise AlertPayloadError(
            f"This is not a {fmt.label} delivery Hindsight can read. {problems}"
        ) from None
    delivery = fmt.delivery_id(request, data) or _body_hash(request)
    return alert, one_line(delivery, 200)
