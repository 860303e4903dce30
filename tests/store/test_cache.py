"""The tracked session cache: its bounds, and kept true by a real redis-server's invalidation (two stores on
one Redis standing for two replicas)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from app.errors import StoreUnavailable
from app.sessions.service import RECORD_KEYS, SessionService
from app.settings import Settings
from app.store import cache as cache_module
from app.store.cache import ENTRY_OVERHEAD, RecordCache
from app.store.factory import open_store
from app.store.redis_store import RedisStore
from tests.sessions.conftest import PREFIX, SECRET, FakeClock
from tests.support.redis_server import RedisServer

UserFactory = Callable[[str], dict[str, str]]


# The copy itself --------------------------------------------------------------------------------------


def fill(cache: RecordCache, key: str, value: bytes, deadline: float) -> bool:
    return cache.end(key, cache.begin(key), value, deadline)


def test_the_copy_is_bounded_by_count_least_recently_used_out_first() -> None:
    clock = FakeClock(1000.0)
    cache = RecordCache(max_entries=3, max_bytes=1 << 20, clock=clock)
    for key in "abc":
        fill(cache, key, b"v", 2000)
    assert cache.get("a") is not None  # used: now the most recent
    fill(cache, "d", b"v", 2000)
    assert len(cache) == 3
    assert cache.get("b") is None and all(cache.get(k) is not None for k in "acd")


def test_the_copy_is_bounded_by_bytes() -> None:
    clock = FakeClock(1000.0)
    per = 1 + 100 + ENTRY_OVERHEAD
    cache = RecordCache(max_entries=100, max_bytes=3 * per, clock=clock)
    for key in "abcd":
        fill(cache, key, b"x" * 100, 2000)
    assert len(cache) == 3 and cache.bytes == 3 * per and cache.get("a") is None
    # One value larger than the whole budget is never kept (and evicts nothing).
    fill(cache, "e", b"x" * (3 * per), 2000)
    assert cache.get("e") is None and len(cache) == 3
    cache.discard("b")
    assert cache.bytes == 2 * per


def test_the_copy_never_outlives_the_ttl_redis_gave() -> None:
    clock = FakeClock(1000.0)
    cache = RecordCache(max_entries=10, max_bytes=1 << 20, clock=clock)
    fill(cache, "a", b"v", 1010)
    clock.advance(9.9)
    assert cache.get("a") is not None
    clock.advance(0.1)
    assert cache.get("a") is None and cache.bytes == 0
    assert fill(cache, "b", b"v", 1009) is True and cache.get("b") is None  # already past: not kept


def test_a_read_overlapping_an_invalidation_or_a_drop_is_not_kept() -> None:
    cache = RecordCache(max_entries=10, max_bytes=1 << 20)
    later = time.monotonic() + 60
    token = cache.begin("a")
    cache.discard("a")  # the push for a write that Redis ran after our GET, read before our reply
    assert cache.end("a", token, b"old", later) is False and cache.get("a") is None
    token = cache.begin("a")
    cache.discard("b")  # another key: no matter
    assert cache.end("a", token, b"new", later) is True and cache.get("a") is not None
    token = cache.begin("c")
    cache.clear()  # the tracking connection was lost meanwhile
    assert cache.end("c", token, b"v", later) is False and cache.get("c") is None and len(cache) == 0
    # Two reads of one key in flight, the invalidation between them: neither is kept.
    first = cache.begin("d")
    cache.discard("d")
    second = cache.begin("d")
    assert cache.end("d", first, b"v", later) is False
    assert cache.end("d", second, b"v", later) is True  # began after the invalidation: fresh


# Against Redis ----------------------------------------------------------------------------------------


def replica(url: str, *, idle: float = 600, timeout: float = 2.0) -> tuple[RedisStore, SessionService]:
    """A replica's store as the app opens it (BFF_SESSION_CACHE defaults to on), and its sessions."""
    settings = Settings(bff_redis_url=url, bff_redis_key_prefix=PREFIX, bff_session_secrets=SECRET.decode())
    store = open_store(settings, timeout=timeout, cached=RECORD_KEYS)
    assert isinstance(store, RedisStore) and store.cache is not None
    return store, SessionService(store, [SECRET], idle_timeout=idle, max_lifetime=3600)


async def tracking(store: RedisStore) -> None:
    """Until the store's tracking connection is up (the first cached read starts it)."""
    assert store.cache is not None
    store.cache.lookup(PREFIX + "s:none")
    deadline = time.monotonic() + 5
    while not all(t.ready for t in store.cache._trackers.values()) or not store.cache._trackers:
        assert time.monotonic() < deadline, "tracking never came up"
        await asyncio.sleep(0.01)


async def commands(raw: Redis) -> dict[str, int]:
    stats = await raw.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    for ours in ("info", "config|resetstat", "ping"):  # the test's own, and the trackers' heartbeats
        calls.pop(ours, None)
    return calls


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_cached_reads_cost_no_redis_command(
    redis_url: str, raw: Redis, user_factory: UserFactory
) -> None:
    store, sessions = replica(redis_url)
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None  # the miss that fills the copy
    await raw.config_resetstat()
    for _ in range(200):
        session = await sessions.load(cookie, cached=True)
        assert session is not None and session.bearer == "b"
    assert await commands(raw) == {}
    # Reads that do not ask for the copy (the /auth routes) still read Redis.
    assert await sessions.load(cookie) is not None
    assert await commands(raw) == {"get": 1, "pttl": 1}
    await store.aclose()


async def test_an_end_on_one_replica_is_seen_by_the_other_on_its_very_next_read(
    redis_url: str, user_factory: UserFactory
) -> None:
    one, on_one = replica(redis_url)
    two, on_two = replica(redis_url)
    await tracking(one)
    await tracking(two)
    alice = user_factory("alice")
    for round_ in range(300):
        cookie, session = await on_one.create(bearer=f"b{round_}", user=alice, user_agent="", ip="")
        _, other = await on_one.create(bearer="o", user=alice, user_agent="", ip="")
        for _ in range(3):  # cached on both now
            assert await on_two.load(cookie, cached=True) is not None
            assert await on_one.load(cookie, cached=True) is not None
        if round_ % 2:
            await on_one.delete(session)  # a logout on one
        else:
            assert await on_one.revoke(other, session.public_id)  # DELETE /auth/sessions/{id} on one
        assert await on_two.load(cookie, cached=True) is None, f"round {round_}: served after its end"
        assert await on_one.load(cookie, cached=True) is None
    await one.aclose()
    await two.aclose()


async def test_an_operator_revoke_through_another_client_is_seen_at_once(
    redis_url: str, raw: Redis, user_factory: UserFactory
) -> None:
    store, sessions = replica(redis_url)
    await tracking(store)
    cookie, session = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    await raw.delete(PREFIX + session.storage_key)
    assert await sessions.load(cookie, cached=True) is None
    await store.aclose()


async def test_a_redis_restart_drops_the_copy(own_redis: RedisServer, user_factory: UserFactory) -> None:
    store, sessions = replica(own_redis.url)
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    own_redis.stop()
    own_redis.start()  # empty: the session is gone, and the copy must not say otherwise
    assert await sessions.load(cookie, cached=True) is None
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b2", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    assert store.cache is not None and len(store.cache.cache) == 1  # copied again, on the new connection
    await store.aclose()


async def test_a_stopped_redis_is_store_unavailable_not_a_cached_answer(
    own_redis: RedisServer, user_factory: UserFactory
) -> None:
    store, sessions = replica(own_redis.url, timeout=1.0)
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    own_redis.stop()
    with pytest.raises(StoreUnavailable):
        await sessions.load(cookie, cached=True)
    own_redis.start()
    await store.aclose()


async def test_a_hung_redis_stops_serving_the_copy_within_max_silence(
    own_redis: RedisServer, user_factory: UserFactory
) -> None:
    store, sessions = replica(own_redis.url, timeout=0.5)
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    assert own_redis.proc is not None
    own_redis.proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        while True:
            try:
                await sessions.load(cookie, cached=True)
            except StoreUnavailable:
                break
            await asyncio.sleep(0.02)
        # Served from the copy at most MAX_SILENCE after the last answer, then the read's own timeout.
        assert time.monotonic() - started < cache_module.MAX_SILENCE + 0.5 + 0.3
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    await asyncio.sleep(0.1)
    assert await sessions.load(cookie, cached=True) is not None
    await store.aclose()


async def test_tracking_refused_falls_back_with_one_warning(
    user_factory: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    args = ["--user", "bff", "on", ">pw-1", "~*", "+@all", "-client|tracking", "--user", "default", "off"]
    with RedisServer(extra_args=args) as server:
        url = f"redis://bff:pw-1@127.0.0.1:{server.port}/0"
        store, sessions = replica(url)
        with caplog.at_level(logging.WARNING, logger="bff.sessions"):
            assert store.cache is not None
            store.cache.lookup(PREFIX + "s:none")
            deadline = time.monotonic() + 5
            while store.cache.enabled:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            cookie, session = await sessions.create(bearer="b", user=user_factory("a"), user_agent="", ip="")
            for _ in range(3):
                assert await sessions.load(cookie, cached=True) is not None
            assert len(store.cache.cache) == 0  # nothing copied: every read went to Redis
            await sessions.delete(session)
            assert await sessions.load(cookie, cached=True) is None
        warnings = [r for r in caplog.records if "CLIENT TRACKING" in r.getMessage()]
        assert len(warnings) == 1
        await store.aclose()


async def test_an_idle_session_ends_within_its_slack_with_the_copy(
    redis_url: str, user_factory: UserFactory
) -> None:
    # idle 2 s, slack 0.5 s: reads 1.4 s apart keep it; 2 s without one ends it, copy or not.
    store, sessions = replica(redis_url, idle=2)
    await tracking(store)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    for _ in range(3):
        await asyncio.sleep(1.4)
        assert await sessions.load(cookie, cached=True) is not None
    await asyncio.sleep(2.05)
    assert await sessions.load(cookie, cached=True) is None
    await store.aclose()


async def test_the_copy_is_bounded_in_a_store(redis_url: str, user_factory: UserFactory) -> None:
    store = RedisStore(Redis.from_url(redis_url), prefix=PREFIX, cache="s:", cache_max_entries=5)
    sessions = SessionService(store, [SECRET], idle_timeout=600, max_lifetime=3600)
    await tracking(store)
    cookies = [
        (await sessions.create(bearer=f"b{i}", user=user_factory(f"u{i}"), user_agent="", ip=""))[0]
        for i in range(12)
    ]
    for cookie in cookies:
        assert await sessions.load(cookie, cached=True) is not None
    assert store.cache is not None and len(store.cache.cache) == 5
    await store.aclose()


async def test_a_push_waiting_unread_keeps_the_copy_from_serving(
    redis_url: str, user_factory: UserFactory
) -> None:
    store, sessions = replica(redis_url)
    await tracking(store)
    cookie, session = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert await sessions.load(cookie, cached=True) is not None
    name = PREFIX + session.storage_key
    assert store.cache is not None and isinstance(store.cache.lookup(name), tuple)
    # Another replica deletes it while this one's event loop is busy: the push sits unread in the kernel.
    with SyncRedis.from_url(redis_url) as other:
        other.delete(name)
        time.sleep(0.05)
    assert not isinstance(store.cache.lookup(name), tuple)
    assert await sessions.load(cookie, cached=True) is None
    await store.aclose()
