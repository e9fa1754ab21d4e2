from __future__ import annotations

import pytest

# The Slack webhook on 127.0.0.1 that the reminder tests also use.
from tests.actions.conftest import slack_server  # noqa: F401


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.HINDSIGHT_BASE_URL = "https://hindsight.example.com"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
