"""`POST /api/v1/alerts/<source>/`: alerting tools open and update incidents."""

from __future__ import annotations

import json
from typing import Literal

from django.http import Http404
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from api.alert_formats import FORMATS, AlertPayloadError, read_alert
from api.core import ApiAuth, Error, InvalidInput
from api.intake import alert_receive
from api.models import AlertSource
from incidents import policy

router = Router(tags=["alerts"])


class AlertAnswer(Schema):
    incident: str | None
    opened: bool
    detail: str


def _authenticated(request, source: AlertSource) -> bool:
    if FORMATS[source.kind].verify(request, source.secret):
        return True
    if source.kind == "generic":
        # The generic shape also takes a write-scoped API token of someone who may open incidents.
        token = ApiAuth()(request)
        if token is not None and token.can_write and policy.can_open_incident(token.user):
            source.opened_as = token.user
            return True
    return False


@router.post(
    "/alerts/{source}/",
    auth=None,
    throttle=[],
    response={
        200: AlertAnswer,
        201: AlertAnswer,
        401: Error,
        404: Error,
        413: Error,
        422: InvalidInput,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "security": [{"ApiAuth": []}, {}],
    },
)
def alert_intake(request, source: Literal["alertmanager", "grafana", "pagerduty", "generic"]):
    """Receive one alert delivery from Alertmanager (webhook v4), Grafana, PagerDuty (v3) or
    the generic shape `{"dedup_key", "status", "title", "severity", "service", "summary",
    "starts_at"}`.

    Each source proves itself with its own secret: a bearer secret (Alertmanager, generic,
    Grafana's credentials), an HMAC signature of the body (PagerDuty's `X-PagerDuty-Signature`,
    Grafana's `X-Grafana-Alerting-Signature`), or for `generic` a write-scoped API token.
    The first firing of a dedup key opens an incident (201); later ones join it (200).
    """
    configured = AlertSource.objects.select_related("opened_as").filter(kind=source, enabled=True)
    row = configured.first()
    if row is None:
        raise Http404(f"No {source} alert source is set up; an admin adds it under Alert sources.")
    if not _authenticated(request, row):
        raise HttpError(401, f"The {source} secret or signature does not match.")
    try:
        data = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise HttpError(422, "The body is not JSON.") from None
    try:
        alert, delivery_id = read_alert(FORMATS[source], request, data)
    except AlertPayloadError as error:
        raise HttpError(422, str(error)) from None
    result = alert_receive(source=row, alert=alert, delivery_id=delivery_id)
    answer = {
        "incident": result.incident.ref if result.incident else None,
        "opened": result.opened,
        "detail": result.detail,
    }
    return Status(201 if result.opened else 200, answer)
