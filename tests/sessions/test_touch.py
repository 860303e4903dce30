"""A touch (``last_seen_at``, the idle slide) never writes token fields: the interleaving with a refresh that
stores new tokens between the touch's read and its write, made deterministic by a store that pauses there."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster

from app.sessions.service import LAST_SEEN_INTERVAL, SessionService
from app.store.protocol import Store
from app.store.redis_store import RedisStore
from tests.sessions.conftest import PREFIX, SECRET, FakeClock, Harness
from tests.support.redis_cluster import RedisClusterNodes

#: The store methods that write a string key (a session record).
WRITES = frozenset({"set", "replace_if_equal", "expire", "delete", "set_if_absent", "delete_if_equal"})


class PausingStore:
    """Delegates to a store; the first write of the key named by :meth:`pause_before_write` waits there until
    :meth:`resume`, so a test can run something else between a read and the write that follows it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.prefix = inner.prefix
        self._key: str | None = None
        #: Calls so far, by method name (writes only).
        self.calls: Counter[str] = Counter()
        self.paused = asyncio.Event()
        self._resume = asyncio.Event()

    def pause_before_write(self, key: str) -> None:
        self._key = key

    def resume(self) -> None:
        self._resume.set()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in WRITES:
            return method

        async def gated(key: str, *args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            if key == self._key:
                self._key = None
                self.paused.set()
                await self._resume.wait()
            return await method(key, *args, **kwargs)

        return gated


USER = {"id": "uid-touch-1", "username": "touch@corp.example", "tenant": "t.example"}


async def refresh_during_touch(store: Store, clock: FakeClock) -> None:
    """A session's touch reads the record, a refresh stores new tokens, then the touch writes: the record
    keeps the refreshed tokens."""
    paused = PausingStore(store)
    sessions = SessionService(paused, [SECRET], idle_timeout=600, max_lifetime=3600, clock=clock)
    now = clock()
    cookie, session = await sessions.create(
        bearer="access-1",
        user=USER,
        user_agent="UA",
        ip="10.0.0.1",
        login="oauth",
        access_expires_at=now + 30,
        refresh_token="refresh-1",
    )
    clock.advance(LAST_SEEN_INTERVAL + 1)  # the next read records last_seen_at: a touch
    paused.pause_before_write(session.storage_key)
    touching = asyncio.create_task(sessions.load(cookie))
    await asyncio.wait_for(paused.paused.wait(), 5)  # the touch has read refresh-1 and is about to write
    stored = await sessions.store_tokens(
        cookie, bearer="access-2", access_expires_at=clock() + 3600, refresh_token="refresh-2"
    )
    assert stored is not None and stored.refresh_token == "refresh-2"
    paused.resume()
    touched = await asyncio.wait_for(touching, 5)
    assert touched is not None  # the call that touched goes on (with the token it read)

    after = await sessions.load(cookie, slide=False)
    assert after is not None
    assert (after.bearer, after.refresh_token) == ("access-2", "refresh-2")


async def test_a_touch_never_puts_back_tokens_a_refresh_stored_meanwhile(harness: Harness) -> None:
    await refresh_during_touch(harness.store, harness.clock)


async def test_one_touch_at_a_time_per_session_on_a_replica(harness: Harness) -> None:
    paused = PausingStore(harness.store)
    sessions = SessionService(paused, [SECRET], idle_timeout=600, max_lifetime=3600, clock=harness.clock)
    cookie, session = await sessions.create(bearer="b", user=USER, user_agent="UA", ip="10.0.0.1")
    harness.clock.advance(LAST_SEEN_INTERVAL + 1)
    paused.pause_before_write(session.storage_key)
    touching = asyncio.create_task(sessions.load(cookie))
    await asyncio.wait_for(paused.paused.wait(), 5)
    # The session's other calls meanwhile read it and go on without a compare-and-set of their own.
    others = await asyncio.gather(*(sessions.load(cookie) for _ in range(5)))
    assert all(other is not None for other in others)
    assert paused.calls["replace_if_equal"] == 1
    paused.resume()
    assert await asyncio.wait_for(touching, 5) is not None
    after = await sessions.load(cookie, slide=False)
    assert after is not None and after.last_seen_at == pytest.approx(harness.clock())


async def test_a_touch_over_an_unchanged_record_still_records_last_seen(harness: Harness) -> None:
    sessions = harness.sessions()
    cookie, _ = await sessions.create(bearer="b", user=USER, user_agent="UA", ip="10.0.0.1")
    harness.clock.advance(LAST_SEEN_INTERVAL + 1)
    touched = await sessions.load(cookie)
    assert touched is not None
    after = await sessions.load(cookie, slide=False)
    assert after is not None and after.last_seen_at == pytest.approx(harness.clock())


@pytest.fixture
def cluster() -> Iterator[RedisClusterNodes]:
    with RedisClusterNodes(3) as nodes:
        yield nodes


@pytest.mark.slow
async def test_a_touch_never_puts_back_tokens_on_a_redis_cluster(cluster: RedisClusterNodes) -> None:
    store = RedisStore(RedisCluster.from_url(cluster.url), prefix=PREFIX)
    clock = FakeClock()
    try:
        await refresh_during_touch(store, clock)
    finally:
        await store.aclose()
