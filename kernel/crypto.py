"""Secrets kept in the database (a tracker token) are encrypted with Fernet.

The key is HINDSIGHT_ENCRYPTION_KEY (a Fernet key: `python -c "from cryptography.fernet
import Fernet; print(Fernet.generate_key().decode())"`); without it, one is derived from
DJANGO_SECRET_KEY, so rotating that key makes stored tokens unreadable (they must be typed
again) — set HINDSIGHT_ENCRYPTION_KEY in production.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class UnreadableSecret(Exception):
    """A stored secret that the current key cannot decrypt."""


def _fernet() -> Fernet:
    key = settings.HINDSIGHT_ENCRYPTION_KEY
    if not key:
        digest = hashlib.sha256(b"hindsight-encryption:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError) as error:
        raise UnreadableSecret("stored with another encryption key") from error
