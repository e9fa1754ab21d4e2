"""Leases under a cap: counted across processes, renewed by name, ended by themselves."""

from __future__ import annotations

import time

import pytest

from kernel import limits
from kernel.limits import _LocalLeases, _RedisLeases, lease_take, leases_held

STORES = ["in-process", "redis"]


@pytest.fixture(params=STORES)
def store(request, settings):
    """Two handles on the leases, as two server processes would have."""
    if request.param == "in-process":
        shared = _LocalLeases()
        return shared, shared
    if not settings.REDIS_URL:
        pytest.fail("This test needs Redis: set REDIS_URL (make test sets it for you).")
    return _RedisLeases(settings.REDIS_URL), _RedisLeases(settings.REDIS_URL)


def test_a_cap_counts_the_leases_of_every_process(store):
    first, second = store
    assert first.take("k", "a", 2, 30) is None
    assert second.take("k", "b", 2, 30) is None
    wait = first.take("k", "c", 2, 30)
    assert wait is not None and 0 < wait <= 30
    second.give_back("k", "a")
    assert first.take("k", "c", 2, 30) is None


def test_taking_a_held_lease_again_renews_it_without_a_second_place(store):
    first, second = store
    assert first.take("k", "tab", 1, 30) is None
    assert second.take("k", "tab", 1, 30) is None
    assert first.take("k", "other", 1, 30) is not None


def test_a_lease_nobody_renews_ends_by_itself(store):
    first, second = store
    assert first.take("k", "crashed", 1, 0.05) is None
    time.sleep(0.1)  # past the lease's end: its process never gave it back
    assert second.take("k", "next", 1, 30) is None


def test_a_cap_of_nought_refuses_everything_and_says_when_to_ask_again(store):
    first, _ = store
    assert first.take("k", "a", 0, 30) == pytest.approx(30, abs=1)


def test_with_redis_unreachable_a_cap_lets_the_request_through(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    limits._store = None
    first, _ = lease_take("k", limit=1, seconds=30)
    second, _ = lease_take("k", limit=1, seconds=30)
    assert first is not None and second is not None
    assert "not counted" in caplog.text
    assert leases_held("k") == 0
