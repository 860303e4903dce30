"""Fixtures for the session tests: a controllable clock and one harness per store implementation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import Redis

from app.sessions.pre_auth import PreAuthStore
from app.sessions.service import SessionService
from app.store.memory_store import MemoryStore
from app.store.protocol import Store
from app.store.redis_store import RedisStore

SECRET = b"s" * 40
OLD_SECRET = b"o" * 40
PREFIX = "test-bff:"


class FakeClock:
    """A clock tests move by hand: ``clock.advance(61)``."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Harness:
    """One store under test, with the clock its services use and a way to let real time pass."""

    kind: str
    store: Store
    clock: FakeClock
    raw: Redis | None = None
    services: list[Any] = field(default_factory=list)

    async def elapse(self, seconds: float) -> None:
        """Let ``seconds`` pass for everything: Redis expires keys in real time, so it really sleeps."""
        if self.raw is not None:
            await asyncio.sleep(seconds)
        self.clock.advance(seconds)

    def sessions(
        self,
        *,
        idle: float = 600,
        max_lifetime: float = 3600,
        secrets: list[bytes] | None = None,
        max_per_user: int = 32,
    ) -> SessionService:
        return SessionService(
            self.store,
            secrets or [SECRET],
            idle_timeout=idle,
            max_lifetime=max_lifetime,
            max_per_user=max_per_user,
            clock=self.clock,
        )

    async def keys(self) -> list[str]:
        """Every key in the store, prefix included."""
        if self.raw is not None:
            return [k.decode() for k in await self.raw.keys("*")]
        assert isinstance(self.store, MemoryStore)
        return self.store.keys()

    def logins(self, *, timeout: float = 300, secrets: list[bytes] | None = None) -> PreAuthStore:
        return PreAuthStore(self.store, secrets or [SECRET], login_timeout=timeout, clock=self.clock)


@pytest.fixture(params=["memory", "redis"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    clock = FakeClock()
    if request.param == "memory":
        yield Harness("memory", MemoryStore(prefix=PREFIX, clock=clock), clock)
        return
    url: str = request.getfixturevalue("redis_url")
    store = RedisStore(Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), prefix=PREFIX)
    raw = Redis.from_url(url, socket_timeout=2)
    try:
        yield Harness("redis", store, clock, raw=raw)
    finally:
        await store.aclose()
        await raw.aclose()


@pytest.fixture
def user_factory() -> Callable[[str], dict[str, str]]:
    def make(name: str) -> dict[str, str]:
        return {
            "id": f"uid-{name}-6f1c2a",
            "username": f"{name}@corp.example",
            "display_name": f"{name.title()} Example",
            "email": f"{name}.mail@corp.example",
            "tenant": "abc1234.id.cyberark.cloud",
        }

    return make
