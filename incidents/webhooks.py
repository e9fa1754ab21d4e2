"""Outbound webhooks: a team's own endpoints told, signed, when its incidents and items change.

1. The apps register the events they raise (`register_webhook_event` in `AppConfig.ready()`);
   a team lead picks which of them each webhook gets.
2. A service that changes something calls `webhook_event_raise(...)` inside its transaction:
   the event is written as a row with the JSON body it will be sent as, and a delivery is
   queued for every active webhook of the team that wants it. Both vanish if the change rolls
   back, and the worker is handed the deliveries only once it commits.
3. The delivery engine sends them through `WebhookChannel` (retries, backoff, the admin's
   log). Each POST is signed: `X-Hindsight-Signature: t=<unix time>,v1=<hex>`, the hex being
   HMAC-SHA256 with the webhook's secret over `<t>.<body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from incidents.models import Incident, Team, TeamWebhook, WebhookEvent
from kernel.channels import ChannelError, outbound_url_refusal
from kernel.delivery import Message, Topic, queue
from kernel.models import Delivery

TOPIC = "webhook_event"
CHANNEL = "webhook"
SIGNATURE_HEADER = "X-Hindsight-Signature"
TIMEOUT_SECONDS = 10
# A receiver should refuse a signature older than this (replayed); see `signature_valid`.
TOLERANCE_SECONDS = 300
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"
PING = "ping"


@dataclass(frozen=True)
class WebhookEventType:
    name: str
    label: str


_event_types: dict[str, WebhookEventType] = {}


def register_webhook_event(name: str, label: str) -> None:
    _event_types[name] = WebhookEventType(name, label)


def event_types() -> list[WebhookEventType]:
    return list(_event_types.values())


def event_names() -> list[str]:
    return list(_event_types)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def signature_valid(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """What a receiver checks: a v1 signature of this body, made within `tolerance` seconds."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def absolute(path: str) -> str:
    return (settings.HINDSIGHT_BASE_URL or DEVELOPMENT_BASE_URL).rstrip("/") + path


def incident_data(incident: Incident) -> dict[str, Any]:
    """The incident as every event about it describes it."""
    return {
        "ref": incident.ref,
        "title": incident.title,
        "status": incident.status,
        "severity": incident.severity.name,
        "team": incident.team.slug if incident.team_id else None,
        "started_at": incident.started_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "url": absolute(incident.get_absolute_url()),
    }


def webhook_event_raise(
    *, event: str, team: Team | None, data: dict[str, Any]
) -> WebhookEvent | None:
    """Record `event` for `team` and queue it to each of the team's webhooks that wants it.

    Call it inside the transaction of the change: nothing is sent unless that commits. A team
    with no webhook for the event costs one query and writes nothing.
    """
    if event not in _event_types:
        raise ValueError(f"{event} is not a registered webhook event")
    if team is None:
        return None
    hooks = [hook for hook in TeamWebhook.objects.filter(team=team) if hook.wants(event)]
    if not hooks:
        return None
    return _record(event=event, team=team, data=data, hooks=hooks)


def webhook_ping(hook: TeamWebhook) -> WebhookEvent:
    """Send one webhook a test event, whatever events it has chosen."""
    data = {"message": "A test event from Hindsight: your endpoint is reachable."}
    return _record(event=PING, team=hook.team, data=data, hooks=[hook])


def _record(*, event: str, team: Team, data: dict, hooks: list[TeamWebhook]) -> WebhookEvent:
    now = timezone.now()
    row = WebhookEvent.objects.create(team=team, event=event, payload={}, created_at=now)
    row.payload = {
        "id": f"evt_{row.pk}",
        "event": event,
        "created_at": now.isoformat(),
        "team": {"slug": team.slug, "name": team.name},
        **data,
    }
    row.save(update_fields=["payload"])
    queue(
        Delivery(topic=TOPIC, subject_id=row.pk, channel=CHANNEL, address=webhook_address(hook))
        for hook in hooks
    )
    return row


def webhook_address(hook: TeamWebhook) -> dict:
    # The URL may hold a secret path: only its host goes into the delivery log.
    return {"webhook": hook.pk, "team_name": hook.team.name, "host": hook.host}


def _prepare(deliveries: list[Delivery]) -> dict[int, WebhookEvent]:
    return WebhookEvent.objects.in_bulk([d.subject_id for d in deliveries])


def _compose(delivery: Delivery, events: dict[int, WebhookEvent]) -> Message:
    row = events.get(delivery.subject_id)
    if row is None:
        raise ChannelError("the event was deleted before it was sent", retryable=False)
    return Message(subject=row.event, text=json.dumps(row.payload), data=row.payload)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead inside the network past the URL check: it counts as an answer."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


class WebhookChannel:
    """POSTs the event's JSON, signed, to the webhook in the address: {"webhook": id, ...}.

    URL and secret are read from the webhook at send time; one deleted or switched off since
    the event was queued fails for good, as does a URL that now points inside the network.
    """

    name = CHANNEL
    label = "Webhook"

    def send(self, delivery: Delivery, message: Message) -> None:
        hook = TeamWebhook.objects.filter(pk=delivery.address.get("webhook")).first()
        if hook is None or not hook.active:
            raise ChannelError("the webhook was removed or switched off", retryable=False)
        refusal = outbound_url_refusal(
            hook.url, allow_local_test_server=settings.HINDSIGHT_WEBHOOK_ALLOW_LOCAL_TEST_SERVER
        )
        if refusal:
            raise ChannelError(f"Webhook at {hook.host} refused: {refusal}", retryable=False)
        body = json.dumps(message.data, separators=(",", ":"), sort_keys=True).encode()
        request = urllib.request.Request(
            hook.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Hindsight-Webhooks/1",
                "X-Hindsight-Event": message.data.get("event", ""),
                "X-Hindsight-Delivery": str(delivery.pk),
                SIGNATURE_HEADER: signature_header(hook.secret, body),
            },
        )
        try:
            with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                response.read(65536)
        except urllib.error.HTTPError as error:
            # The receiver said no: a 4xx other than "too many" or "timeout" will say it again.
            retryable = error.code >= 500 or error.code in (408, 429) or 300 <= error.code < 400
            raise ChannelError(
                f"Webhook at {hook.host} answered {error.code}", retryable=retryable
            ) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ChannelError(
                f"Webhook at {hook.host} unreachable: {reason}", retryable=True
            ) from None

    def describe(self, address: dict) -> str:
        return f"{address.get('team_name') or 'a team'}'s webhook at {address.get('host') or '?'}"


WEBHOOK_TOPIC = Topic(TOPIC, "Webhook event", compose=_compose, prepare=_prepare)
