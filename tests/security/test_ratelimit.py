"""Login rate limits: counted in the store (memory and real Redis), keyed by hash, shared by replicas."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.errors import RateLimited
from app.security.ratelimit import RateLimiter
from app.sessions.keyring import Keyring
from app.settings import RateLimit, Settings
from app.store.factory import open_store
from app.store.protocol import Store
from tests.support.redis_server import RedisServer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, clock: Clock) -> AsyncIterator[Store]:
    if request.param == "memory":
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
    else:
        url = request.getfixturevalue("redis_url")
        settings = Settings(_env_file=None, bff_redis_url=url)  # type: ignore[call-arg]
    opened = open_store(settings, clock=clock)
    yield opened
    await opened.aclose()


KEYRING = Keyring([b"k" * 32])


async def test_allows_the_limit_then_refuses_with_the_seconds_left(store: Store, clock: Clock) -> None:
    limiter = RateLimiter(store, KEYRING, clock=clock)
    limit = RateLimit(3, 60)
    clock.now = 60 * 1000 + 15  # 15 s into a window
    for _ in range(3):
        await limiter.hit("login-ip", "203.0.113.9", limit)
    with pytest.raises(RateLimited) as refused:
        await limiter.hit("login-ip", "203.0.113.9", limit)
    assert refused.value.retry_after == 45
    assert refused.value.headers() == {"Retry-After": "45"}


async def test_buckets_are_separate_per_value_and_scope(store: Store, clock: Clock) -> None:
    limiter = RateLimiter(store, KEYRING, clock=clock)
    limit = RateLimit(1, 60)
    await limiter.hit("login-ip", "203.0.113.9", limit)
    await limiter.hit("login-ip", "203.0.113.10", limit)
    await limiter.hit("login-user", "203.0.113.9", limit)
    with pytest.raises(RateLimited):
        await limiter.hit("login-ip", "203.0.113.9", limit)


async def test_a_new_window_starts_afresh(store: Store, clock: Clock) -> None:
    limiter = RateLimiter(store, KEYRING, clock=clock)
    limit = RateLimit(1, 60)
    clock.now = 60 * 1000
    await limiter.hit("login-user", "jane@example.com", limit)
    with pytest.raises(RateLimited):
        await limiter.hit("login-user", "jane@example.com", limit)
    clock.now += 60
    await limiter.hit("login-user", "jane@example.com", limit)


async def test_two_limiters_on_one_redis_share_the_count(redis_server: RedisServer, redis_url: str) -> None:
    settings = Settings(_env_file=None, bff_redis_url=redis_url)  # type: ignore[call-arg]
    first, second = open_store(settings), open_store(settings)
    try:
        limit = RateLimit(2, 60)
        await RateLimiter(first, KEYRING).hit("login-ip", "198.51.100.1", limit)
        await RateLimiter(second, KEYRING).hit("login-ip", "198.51.100.1", limit)
        with pytest.raises(RateLimited):
            await RateLimiter(first, KEYRING).hit("login-ip", "198.51.100.1", limit)
        # Buckets are keyed hashes: no IP or username is readable in Redis, and every key expires.
        keys = redis_server.cli("--scan").split()
        assert keys and all(k.startswith("bff:rl:login-ip:") for k in keys)
        assert not any("198.51.100.1" in k for k in keys)
        assert all(0 < int(redis_server.cli("TTL", k)) <= 60 for k in keys)
    finally:
        await first.aclose()
        await second.aclose()
