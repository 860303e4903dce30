"""The low-level store protocol both stores implement (Redis in production, memory in development).

Keys passed in are relative; every store prepends its prefix (``BFF_REDIS_KEY_PREFIX``) itself, so nothing
the BFF writes can miss it. Every operation touches ONE key: no MULTI or multi-key command spans a session
record and its user's index, so the layout works unchanged on Redis Cluster (no hash tags needed); the index
is kept consistent by pruning instead (see :mod:`app.sessions.service`). TTLs are seconds (floats, kept to
the millisecond). Failures of the backing service raise :class:`app.errors.StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """A key-value store with expiry: ``await store.set("s:ab12", b"...", ttl=1800)``."""

    prefix: str

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""
        ...

    async def get_with_ttl(self, key: str, *, cached: bool = False) -> tuple[bytes | None, float | None]:
        """The value and its remaining seconds (``None`` when it has no expiry), in one round trip.

        ``cached``: the answer may come from a copy this process keeps true through the store's own
        invalidation (see :mod:`app.store.cache`); a store without one reads the store.
        """
        ...

    async def expire(self, key: str, ttl: float) -> bool:
        """Set the key's expiry to ``ttl`` seconds from now; ``False`` when the key does not exist."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds the key (string or hash) has left; ``None`` when absent or without expiry."""
        ...

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> bool:
        """Store ``value`` for ``ttl`` seconds; with ``only_if_exists`` never recreate a vanished key."""
        ...

    async def delete(self, key: str) -> bool:
        """Remove the key; ``True`` when it existed."""
        ...

    async def replace_if_equal(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        """Store ``value`` for ``ttl`` seconds only while the key still holds ``expected`` (compare-and-set);
        ``False`` when it holds anything else or nothing."""
        ...

    async def exists_many(self, keys: Sequence[str]) -> list[bool]:
        """Whether each key exists (one round trip, no multi-key command)."""
        ...

    async def hset(self, key: str, field: str, value: bytes, *, min_ttl: float) -> None:
        """Set one hash field; the hash then lives at least ``min_ttl`` seconds (never shortened)."""
        ...

    async def hget(self, key: str, field: str) -> bytes | None:
        """One hash field, or ``None``."""
        ...

    async def hgetall(self, key: str) -> dict[str, bytes]:
        """Every field of the hash (empty when absent)."""
        ...

    async def hdel(self, key: str, *fields: str) -> int:
        """Remove fields; how many existed."""
        ...

    async def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires ``ttl`` seconds after its first increment (fixed window)."""
        ...

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        """``SET NX PX``: store ``value`` for ``ttl`` seconds unless the key exists; ``True`` when stored."""
        ...

    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        """Remove the key only while it still holds ``value`` (a lock released by its owner alone)."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise :class:`app.errors.StoreUnavailable` otherwise."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
