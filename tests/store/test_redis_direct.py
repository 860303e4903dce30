"""The store's own connections for the session read (GET and PTTL, on the proxy's path): reused, never
shared mid-command, and recovered after Redis restarts without a failed request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from redis.asyncio import Redis

from app.sessions.service import RECORD_KEYS, SessionService
from app.settings import Settings
from app.store.factory import open_store
from app.store.redis_store import RedisStore
from tests.sessions.conftest import PREFIX, SECRET
from tests.support.redis_server import RedisServer


def sessions_on(url: str) -> tuple[RedisStore, SessionService]:
    settings = Settings(bff_redis_url=url, bff_redis_key_prefix=PREFIX, bff_session_secrets=SECRET.decode())
    store = open_store(settings, timeout=1.0, cached=RECORD_KEYS)
    assert isinstance(store, RedisStore)
    return store, SessionService(store, [SECRET], idle_timeout=600, max_lifetime=3600)


async def clients(raw: Redis) -> int:
    return int((await raw.info("clients"))["connected_clients"]) - 1  # minus `raw` itself


async def test_sequential_loads_reuse_one_connection(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis.url)
    raw = Redis.from_url(own_redis.url)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    before = await clients(raw)
    for _ in range(50):
        assert (await sessions.load(cookie)) is not None
    # One connection more than the client pool's, however many loads: taken and put back each time.
    assert await clients(raw) == before + 1
    await store.aclose()
    await asyncio.sleep(0.1)
    assert await clients(raw) == 0
    await raw.aclose()


async def test_concurrent_loads_each_read_their_own_reply(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis.url)
    made = [
        await sessions.create(bearer=f"bearer-{i}", user=user_factory(f"u{i}"), user_agent="", ip="")
        for i in range(40)
    ]
    for _ in range(3):
        loaded = await asyncio.gather(*(sessions.load(cookie) for cookie, _ in made))
        assert [s.bearer if s else None for s in loaded] == [f"bearer-{i}" for i in range(40)]
    await store.aclose()


async def test_a_redis_restart_costs_no_request(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis.url)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    assert (await sessions.load(cookie)) is not None  # leaves an idle connection behind
    own_redis.stop()
    own_redis.start()  # same port, empty: the idle connection is now dead without knowing it
    # The dead connection fails; the command is sent again on a fresh one and answers (no session: data gone).
    assert await sessions.load(cookie) is None
    cookie, _ = await sessions.create(bearer="b2", user=user_factory("alice"), user_agent="", ip="")
    loaded = await sessions.load(cookie)
    assert loaded is not None and loaded.bearer == "b2"
    await store.aclose()
