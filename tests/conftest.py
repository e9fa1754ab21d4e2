from __future__ import annotations

import pytest
from django.conf import settings

from tests import factories


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if engine != "django.db.backends.postgresql":
        raise pytest.UsageError(
            "The tests run on PostgreSQL: set DATABASE_URL (make test sets it for you)."
        )


@pytest.fixture
def owner(db):
    """The incident owner: a responder on the team."""
    return factories.user("priya", first_name="Priya", last_name="Raman")


@pytest.fixture
def teammate(db):
    return factories.user("marcus", first_name="Marcus", last_name="Webb")


@pytest.fixture
def outsider(db):
    """Someone with an account but nothing to do with the incident."""
    return factories.user("eve", first_name="Eve", last_name="Outside")


@pytest.fixture
def incident(owner):
    return factories.incident(owner=owner)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client
