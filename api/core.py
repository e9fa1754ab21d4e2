"""The API's frame: bearer tokens, scopes, rate limits, JSON errors in words, paging.

Every endpoint acts as the token's user and asks `incidents.policy` what that user may see and
do; a read-scoped token never writes. Errors are JSON objects with a `detail` sentence.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime
from typing import Annotated

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.security.http import HttpAuthBase
from ninja.throttling import SimpleRateThrottle
from pydantic import AfterValidator, AwareDatetime, Field

from api.models import ApiToken
from api.tokens import api_token_for_bearer
from hindsight.env import envstr
from incidents import policy
from incidents.models import Incident
from postmortems.document import incident_number

logger = logging.getLogger(__name__)

# No NUL anywhere (PostgreSQL cannot store it); one-line fields also refuse line breaks.
NO_NUL = r"^[^\x00]*$"
ONE_LINE = r"^[^\x00\r\n]*$"
MAX_INT = 2_147_483_647
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999


def _sane_time(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"give a time between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    # PostgreSQL takes offsets up to 15:59 while ISO 8601 allows any: a moment is stored in UTC.
    return value.astimezone(UTC)


Moment = Annotated[AwareDatetime, AfterValidator(_sane_time)]
Version = Annotated[
    int, Field(ge=1, le=MAX_INT, description="The block's version you started from.")
]


def text(max_length: int, *, one_line: bool = False, min_length: int = 0, default=...):
    return Field(
        default,
        min_length=min_length,
        max_length=max_length,
        pattern=ONE_LINE if one_line else NO_NUL,
    )


class Error(Schema):
    detail: str


class FieldError(Schema):
    field: str
    message: str


class InvalidInput(Schema):
    detail: str
    errors: list[FieldError] = []


class ApiAuth(HttpAuthBase):
    """`Authorization: Bearer <token>`; the token's user becomes the request's user."""

    openapi_scheme = "bearer"

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        # ninja's own HttpBearer logs unexpected headers in DEBUG; a token must never be logged.
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        token = api_token_for_bearer(value.strip())
        if token is not None:
            request.user = token.user
        return token


class TokenRateThrottle(SimpleRateThrottle):
    """So many requests per token; the rest wait, told how long by Retry-After."""

    scope = "token"
    THROTTLE_RATES = {"token": envstr("HINDSIGHT_API_RATE", "600/min")}

    def get_cache_key(self, request: HttpRequest) -> str | None:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return None
        return f"api-throttle-{token.pk}"


api = NinjaAPI(
    title="Hindsight API",
    version="1",
    description="Incidents, their postmortems and action items, for scripts and other tools. "
    "Send `Authorization: Bearer <token>`; make a token on your account's API tokens page "
    "or with `python manage.py create_api_token <username>`.",
    auth=ApiAuth(),
    throttle=[TokenRateThrottle()],
    docs=Swagger(settings={"persistAuthorization": False}),
    urls_namespace="api",
)


def _where(loc) -> str:
    parts = [str(part) for part in loc if part not in ("body", "payload")]
    return ".".join(parts) or "request"


@api.exception_handler(ValidationError)
def invalid_input(request, exc: ValidationError):
    errors = [
        {"field": _where(error.get("loc", ())), "message": str(error.get("msg", "is not valid"))}
        for error in exc.errors
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return api.create_response(
        request, {"detail": f"The request is not valid. {summary}", "errors": errors}, status=422
    )


@api.exception_handler(DjangoValidationError)
def invalid_for_the_model(request, exc: DjangoValidationError):
    if hasattr(exc, "message_dict"):
        errors = [
            {"field": field, "message": " ".join(messages)}
            for field, messages in exc.message_dict.items()
        ]
    else:
        errors = [{"field": "request", "message": " ".join(exc.messages)}]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return api.create_response(
        request, {"detail": f"The request is not valid. {summary}", "errors": errors}, status=422
    )


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return api.create_response(
        request, {"detail": "The body is larger than this server accepts (2 MB)."}, status=413
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    message = str(exc) or "Nothing here."
    return api.create_response(request, {"detail": message}, status=404)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    response = api.create_response(
        request,
        {
            "detail": "Send a valid API token as 'Authorization: Bearer <token>'. "
            "It may have expired or been revoked."
        },
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="hindsight"'
    return response


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    detail = exc.message
    if exc.status_code == 429:
        detail = "Too many requests for this token; wait as long as Retry-After says."
    return api.create_response(request, {"detail": detail}, status=exc.status_code)


def form_errors(form) -> DjangoValidationError:
    """A form's errors as one validation error, field by field, in the API's names."""
    return DjangoValidationError(
        {
            ("request" if field == "__all__" else field): [str(m) for m in messages]
            for field, messages in form.errors.items()
        }
    )


# Questions every endpoint asks -------------------------------------------------------------


def token_of(request) -> ApiToken:
    return request.auth


def require_write(request) -> None:
    if not token_of(request).can_write:
        raise HttpError(
            403, "This token may only read. Make a read-and-write token to change things."
        )


def incident_for(request, ref: str, *, queryset=None) -> Incident:
    """The incident the token's user may see, or 404 (a private one is not admitted to)."""
    try:
        number = incident_number(ref)
    except Http404:
        raise Http404(f"No incident {ref[:20]!r}; references look like INC-42.") from None
    queryset = queryset if queryset is not None else Incident.objects.all()
    found = policy.visible_incidents(request.user, queryset).filter(number=number).first()
    if found is None:
        raise Http404(f"No incident INC-{number} that you may see.")
    return found


def editable_incident(request, ref: str, *, queryset=None) -> Incident:
    require_write(request)
    incident = incident_for(request, ref, queryset=queryset)
    if not policy.can_edit(request.user, incident):
        raise HttpError(403, f"You may read {incident.ref} but not edit it.")
    return incident


def managed_incident(request, ref: str, *, queryset=None) -> Incident:
    require_write(request)
    incident = incident_for(request, ref, queryset=queryset)
    if not policy.can_manage(request.user, incident):
        raise HttpError(
            403, f"Only the owner or the owning team's lead may do that on {incident.ref}."
        )
    return incident


def if_match_version(request, body_version: int | None) -> int:
    """The version a write started from: the If-Match header, or `version` in the body."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if header:
        if not header.isdigit() or not 1 <= int(header) <= MAX_INT:
            raise DjangoValidationError({"If-Match": ["Give the version as a whole number."]})
        return int(header)
    if body_version is None:
        raise DjangoValidationError(
            {"version": ["Say which version you started from (If-Match or version)."]}
        )
    return body_version


# Cursor paging -----------------------------------------------------------------------------


def cursor_encode(value: int) -> str:
    return base64.urlsafe_b64encode(f"after:{value}".encode()).decode().rstrip("=")


def cursor_decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = raw.partition(":")
        number = int(value)
        if kind != "after" or not 0 <= number <= 2**63 - 1:
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise DjangoValidationError(
            {"cursor": ["Pass back the next_cursor of the previous page, unchanged."]}
        ) from None
    return number
