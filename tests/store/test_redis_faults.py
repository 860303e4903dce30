"""Redis going away, hanging and coming back: StoreUnavailable, then recovery without a rebuild."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import pytest

from app.errors import StoreUnavailable
from app.sessions.pre_auth import PreAuthStore
from app.sessions.service import RECORD_KEYS, SessionService
from app.settings import Settings
from app.store.factory import open_store
from app.store.protocol import Store
from tests.sessions.conftest import PREFIX, SECRET
from tests.support.redis_server import RedisServer


def settings_for(url: str) -> Settings:
    return Settings(bff_redis_url=url, bff_redis_key_prefix=PREFIX, bff_session_secrets=SECRET.decode())


def sessions_on(redis: RedisServer, timeout: float) -> tuple[Store, SessionService]:
    store = open_store(settings_for(redis.url), timeout=timeout, cached=RECORD_KEYS)
    return store, SessionService(store, [SECRET], idle_timeout=600, max_lifetime=3600)


@contextmanager
def paused(redis: RedisServer) -> Iterator[None]:
    """Redis hung (SIGSTOP) for the block: connections stay open, nothing answers."""
    assert redis.proc is not None
    redis.proc.send_signal(signal.SIGSTOP)
    try:
        yield
    finally:
        redis.proc.send_signal(signal.SIGCONT)


async def test_stopped_redis_is_store_unavailable_then_recovers(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis, timeout=1.0)
    logins = PreAuthStore(store, [SECRET], login_timeout=300)
    alice = user_factory("alice")
    cookie, session = await sessions.create(bearer="b", user=alice, user_agent="", ip="")
    login = await logins.begin({"n": 1})

    own_redis.stop()
    started = time.monotonic()
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: store.ping(),
        lambda: sessions.load(cookie),
        lambda: sessions.load(cookie, slide=False),
        lambda: sessions.create(bearer="b", user=alice, user_agent="", ip=""),
        lambda: sessions.list_for(session),
        lambda: sessions.revoke(session, "0" * 32),
        lambda: sessions.delete(session),
        lambda: logins.begin({"n": 2}),
        lambda: logins.load(login),
        lambda: logins.save(login, {"n": 3}),
        lambda: logins.end(login),
        lambda: store.incr("rl", 60),
    ]
    for call in calls:
        with pytest.raises(StoreUnavailable) as caught:
            await call()
        assert isinstance(caught.value.__cause__, Exception)  # translated with `raise ... from exc`
    # Refused connections fail fast: no long retry loop holds the browser.
    assert time.monotonic() - started < 5

    own_redis.start()  # same port; no persistence, so the old data is gone
    await store.ping()
    assert await sessions.load(cookie) is None
    new_cookie, _ = await sessions.create(bearer="b2", user=alice, user_agent="", ip="")
    loaded = await sessions.load(new_cookie)
    assert loaded is not None and loaded.bearer == "b2"
    await store.aclose()


async def test_hung_redis_times_out_as_store_unavailable(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis, timeout=0.5)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    other_cookie, _ = await sessions.create(bearer="other", user=user_factory("bob"), user_agent="", ip="")
    with paused(own_redis):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await sessions.load(cookie)
        # The store's own deadline (0.5 s, the retry included) bounds the wait.
        assert time.monotonic() - started < 1.5
    # The read that timed out is answered once Redis resumes. The connection it was sent on is dropped, not
    # reused: otherwise the next command on it would read that stale answer (alice's record) as its own.
    for _ in range(3):
        other = await sessions.load(other_cookie)
        assert other is not None and other.bearer == "other"
    loaded = await sessions.load(cookie)
    assert loaded is not None and loaded.bearer == "b"
    await store.aclose()


async def test_the_deadline_is_the_stores_and_leaves_no_cancellation_behind(
    own_redis: RedisServer, user_factory: Callable[[str], dict[str, str]]
) -> None:
    store, sessions = sessions_on(own_redis, timeout=0.3)
    cookie, _ = await sessions.create(bearer="b", user=user_factory("alice"), user_agent="", ip="")
    with paused(own_redis):
        # Timed out: StoreUnavailable, and the task carries on as if nothing had been cancelled.
        with pytest.raises(StoreUnavailable) as caught:
            await sessions.load(cookie)
        assert isinstance(caught.value.__cause__, TimeoutError)
        task = asyncio.current_task()
        assert task is not None and task.cancelling() == 0
        await asyncio.sleep(0.01)  # no stray CancelledError at the next await

        # Cancelled from outside before the deadline: the cancellation is the caller's, not a store error.
        loading = asyncio.create_task(sessions.load(cookie))
        await asyncio.sleep(0.05)
        loading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading

        # Cancelled from outside after the deadline fired, before the task ran again: still the caller's.
        loading = asyncio.create_task(sessions.load(cookie))
        await asyncio.sleep(0.29)
        deadline = time.monotonic() + 0.05
        while time.monotonic() < deadline:  # block the loop past the deadline, so both cancels are pending
            pass
        loading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loading
    assert await sessions.load(cookie) is not None
    await store.aclose()
