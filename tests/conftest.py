from __future__ import annotations

import contextlib

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from hindsight import bus as bus_module
from kernel import limits
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


BUS_REDIS_URLS = {
    "in-process": lambda configured: "",
    "redis": lambda configured: configured,
    "redis-down": lambda configured: "redis://127.0.0.1:1/0",  # nothing listens on port 1
}


@pytest.fixture
def bus(request, settings):
    """The live-update bus this test's code publishes to, made new for it and dropped after.

    In-process by default; ask for another with
    `@pytest.mark.parametrize("bus", ["redis"], indirect=True)` ("redis" or "redis-down").
    """
    which = getattr(request, "param", "in-process")
    settings.REDIS_URL = BUS_REDIS_URLS[which](settings.REDIS_URL)
    if which == "redis" and not settings.REDIS_URL:
        pytest.fail("This test needs Redis: set REDIS_URL (make test sets it for you).")
    bus_module._bus = None
    yield bus_module.get_bus()
    bus_module._bus = None


@pytest.fixture(autouse=True)
def no_leases_held():
    """Caps count leases in Redis, which outlives a test (and a test run): each starts at none."""
    limits._store = None
    if settings.REDIS_URL:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1)
        with contextlib.suppress(redis.RedisError):
            stale = list(client.scan_iter(f"{limits.PREFIX}*"))
            if stale:
                client.delete(*stale)
        client.close()
    yield
    limits._store = None


@pytest.fixture(autouse=True)
def empty_fragment_cache():
    """Each test numbers its rows from 1 again: HTML cached (kernel.fragments) for an earlier
    test's row of the same id and version must never be shown in this one."""
    cache.clear()


@pytest.fixture(autouse=True)
def no_insights_refresh_pending():
    """A save committed in an earlier test leaves an insights refresh pending in Redis, which
    lets older figures be shown: each test starts with none."""
    from insights.cache import forget_refresh

    with contextlib.suppress(redis.RedisError):
        forget_refresh()


@pytest.fixture(autouse=True)
def images_in_a_temporary_folder(settings, tmp_path_factory):
    """Images a test stores (uploads, seed_demo) go to a folder of their own, not var/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "images": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path_factory.mktemp("images"))},
        },
    }
