"""API tokens: made for a user, shown once, stored as a SHA-256 hash, revoked by their owner."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from api.models import ApiToken

TOKEN_PREFIX = "hs_"
TOKEN_BYTES = 32
# Anything unlike a token is refused before it is hashed or looked up.
TOKEN_SHAPE = re.compile(r"^hs_[A-Za-z0-9_-]{32,64}$")
MAX_DAYS = 3650


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(
    *, user, name: str, scope: str = ApiToken.Scope.READ, days: int | None = None
) -> tuple[ApiToken, str]:
    """Make a token and hand back its text; only its hash is kept, so it cannot be shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = timezone.now() + timedelta(days=days) if days else None
    row = ApiToken(
        user=user,
        name=name,
        scope=scope,
        token_hash=token_digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 5],
        expires_at=expires_at,
    )
    row.full_clean()
    row.save()
    return row, token


def api_token_revoke(*, token: ApiToken, user) -> bool:
    """Revoke one of `user`'s own tokens; False when it was revoked already."""
    revoked = ApiToken.objects.filter(pk=token.pk, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return revoked == 1


def api_token_for_bearer(token: str) -> ApiToken | None:
    """The usable token for a bearer value: None when unknown, revoked, expired or its user left."""
    if not isinstance(token, str) or not TOKEN_SHAPE.match(token):
        return None
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=token_digest(token), revoked_at__isnull=True, user__is_active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if row is not None and (
        row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1)
    ):
        # Written at most once a minute per token, so busy scripts do not write on every call.
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row


def tokens_of(user) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=user))
