"""The app's settings, with a password hasher fast enough to make a user per test.

PBKDF2 is slow on purpose, and every `factories.user()` and every login through the form pays
for it. The uvicorn server the live-editing tests start inherits DJANGO_SETTINGS_MODULE, so the
users it logs in are checked with the same hasher.
"""

from hindsight.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
