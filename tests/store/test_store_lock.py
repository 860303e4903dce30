"""The store's lock primitives (SET NX PX, owner-only delete) on every store: the refresh lock needs them."""

from __future__ import annotations

import asyncio

from tests.sessions.conftest import Harness


async def test_set_if_absent_sets_once_until_the_key_goes(harness: Harness) -> None:
    store = harness.store
    assert await store.set_if_absent("r:lock", b"owner-1", 60) is True
    assert await store.set_if_absent("r:lock", b"owner-2", 60) is False
    assert await store.get("r:lock") == b"owner-1"
    ttl = await store.ttl("r:lock")
    assert ttl is not None and 55 < ttl <= 60


async def test_a_lease_runs_out_and_the_lock_can_be_taken_again(harness: Harness) -> None:
    store = harness.store
    assert await store.set_if_absent("r:lock", b"owner-1", 0.2) is True
    await harness.elapse(0.4)
    assert await store.set_if_absent("r:lock", b"owner-2", 60) is True
    assert await store.get("r:lock") == b"owner-2"


async def test_only_the_owner_releases_the_lock(harness: Harness) -> None:
    store = harness.store
    await store.set_if_absent("r:lock", b"owner-1", 60)
    assert await store.delete_if_equal("r:lock", b"owner-2") is False
    assert await store.get("r:lock") == b"owner-1"
    assert await store.delete_if_equal("r:lock", b"owner-1") is True
    assert await store.get("r:lock") is None
    assert await store.delete_if_equal("r:lock", b"owner-1") is False


async def test_of_many_concurrent_takers_exactly_one_wins(harness: Harness) -> None:
    store = harness.store
    won = await asyncio.gather(*(store.set_if_absent("r:lock", f"o{i}".encode(), 60) for i in range(16)))
    assert sum(won) == 1
