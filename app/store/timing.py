"""Store latency: every session-store operation timed into ``bff_store_call_duration_seconds{op}``.

Example::

    store = TimedStore(open_store(settings), metrics.store_latency)   # in the lifespan
    await store.get_with_ttl("s:ab12")                                # timed as op="get_with_ttl"

A wrapper rather than code in each store: Redis (any mode) and the memory store are timed alike, and the
stores stay free of metrics. It times what the caller waits for, failures included (an outage shows as the
store's deadline). Anything it does not time (a store's own extras) is passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any

from app.store.protocol import Store

if TYPE_CHECKING:
    from app.observe.metrics import LoopHistogram


class TimedStore:
    """A :class:`~app.store.protocol.Store` that times each call of the store it wraps."""

    def __init__(self, store: Store, latency: LoopHistogram) -> None:
        self.store = store
        self.prefix = store.prefix
        # The children, looked up once: labels() on every call would cost more than the timing itself.
        self._get = latency.labels(op="get")
        self._get_with_ttl = latency.labels(op="get_with_ttl")
        self._expire = latency.labels(op="expire")
        self._ttl = latency.labels(op="ttl")
        self._set = latency.labels(op="set")
        self._delete = latency.labels(op="delete")
        self._exists_many = latency.labels(op="exists_many")
        self._hset = latency.labels(op="hset")
        self._hget = latency.labels(op="hget")
        self._hgetall = latency.labels(op="hgetall")
        self._hdel = latency.labels(op="hdel")
        self._incr = latency.labels(op="incr")
        self._ping = latency.labels(op="ping")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def get(self, key: str) -> bytes | None:
        started = perf_counter()
        try:
            return await self.store.get(key)
        finally:
            self._get.observe(perf_counter() - started)

    async def get_with_ttl(self, key: str, *, cached: bool = False) -> tuple[bytes | None, float | None]:
        # A read the store answers from its tracked copy is timed too: the figure is what callers wait for.
        started = perf_counter()
        try:
            return await self.store.get_with_ttl(key, cached=cached)
        finally:
            self._get_with_ttl.observe(perf_counter() - started)

    async def expire(self, key: str, ttl: float) -> bool:
        started = perf_counter()
        try:
            return await self.store.expire(key, ttl)
        finally:
            self._expire.observe(perf_counter() - started)

    async def ttl(self, key: str) -> float | None:
        started = perf_counter()
        try:
            return await self.store.ttl(key)
        finally:
            self._ttl.observe(perf_counter() - started)

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> bool:
        started = perf_counter()
        try:
            return await self.store.set(key, value, ttl, only_if_exists=only_if_exists)
        finally:
            self._set.observe(perf_counter() - started)

    async def delete(self, key: str) -> bool:
        started = perf_counter()
        try:
            return await self.store.delete(key)
        finally:
            self._delete.observe(perf_counter() - started)

    async def exists_many(self, keys: Sequence[str]) -> list[bool]:
        started = perf_counter()
        try:
            return await self.store.exists_many(keys)
        finally:
            self._exists_many.observe(perf_counter() - started)

    async def hset(self, key: str, field: str, value: bytes, *, min_ttl: float) -> None:
        started = perf_counter()
        try:
            await self.store.hset(key, field, value, min_ttl=min_ttl)
        finally:
            self._hset.observe(perf_counter() - started)

    async def hget(self, key: str, field: str) -> bytes | None:
        started = perf_counter()
        try:
            return await self.store.hget(key, field)
        finally:
            self._hget.observe(perf_counter() - started)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        started = perf_counter()
        try:
            return await self.store.hgetall(key)
        finally:
            self._hgetall.observe(perf_counter() - started)

    async def hdel(self, key: str, *fields: str) -> int:
        started = perf_counter()
        try:
            return await self.store.hdel(key, *fields)
        finally:
            self._hdel.observe(perf_counter() - started)

    async def incr(self, key: str, ttl: float) -> int:
        started = perf_counter()
        try:
            return await self.store.incr(key, ttl)
        finally:
            self._incr.observe(perf_counter() - started)

    async def ping(self) -> None:
        started = perf_counter()
        try:
            await self.store.ping()
        finally:
            self._ping.observe(perf_counter() - started)

    async def aclose(self) -> None:
        await self.store.aclose()
