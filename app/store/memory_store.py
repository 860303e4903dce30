"""The in-process store used when ``BFF_REDIS_URL`` is unset: development and tests only."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Sweep expired entries after this many writes, so an idle dev server does not grow without bound.
_SWEEP_EVERY = 256


@dataclass(slots=True)
class _Entry:
    value: bytes | dict[str, bytes]
    expires_at: float | None


class MemoryStore:
    """A dict with expiry on an injectable clock: ``MemoryStore(clock=fake_clock)``; one process only."""

    def __init__(self, prefix: str = "bff:", clock: Callable[[], float] = time.time) -> None:
        self.prefix = prefix
        self._clock = clock
        self._data: dict[str, _Entry] = {}
        self._writes = 0

    def keys(self) -> list[str]:
        """Every live key, prefixed (for tests and debugging)."""
        now = self._clock()
        return [k for k, e in self._data.items() if e.expires_at is None or e.expires_at > now]

    def _live(self, key: str) -> _Entry | None:
        entry = self._data.get(self.prefix + key)
        if entry is None:
            return None
        if entry.expires_at is not None and entry.expires_at <= self._clock():
            del self._data[self.prefix + key]
            return None
        return entry

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            now = self._clock()
            for k in [k for k, e in self._data.items() if e.expires_at is not None and e.expires_at <= now]:
                del self._data[k]

    def _string(self, key: str) -> tuple[_Entry, bytes] | None:
        entry = self._live(key)
        if entry is None:
            return None
        if not isinstance(entry.value, bytes):
            raise TypeError(f"{key} holds a hash, not a string")
        return entry, entry.value

    def _hash(self, key: str) -> dict[str, bytes] | None:
        entry = self._live(key)
        if entry is None:
            return None
        if not isinstance(entry.value, dict):
            raise TypeError(f"{key} holds a string, not a hash")
        return entry.value

    async def get(self, key: str) -> bytes | None:
        found = self._string(key)
        return None if found is None else found[1]

    async def get_with_ttl(self, key: str, *, cached: bool = False) -> tuple[bytes | None, float | None]:
        found = self._string(key)
        if found is None:
            return None, None
        entry, value = found
        return value, None if entry.expires_at is None else entry.expires_at - self._clock()

    async def expire(self, key: str, ttl: float) -> bool:
        entry = self._live(key)
        if entry is None:
            return False
        entry.expires_at = self._clock() + ttl
        return True

    async def ttl(self, key: str) -> float | None:
        entry = self._live(key)
        if entry is None or entry.expires_at is None:
            return None
        return entry.expires_at - self._clock()

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> bool:
        if only_if_exists and self._string(key) is None:
            return False
        self._data[self.prefix + key] = _Entry(bytes(value), self._clock() + ttl)
        self._wrote()
        return True

    async def replace_if_equal(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        # No await between the comparison and the write: no other task can come in between.
        found = self._string(key)
        if found is None or found[1] != expected:
            return False
        self._data[self.prefix + key] = _Entry(bytes(value), self._clock() + ttl)
        self._wrote()
        return True

    async def delete(self, key: str) -> bool:
        existed = self._live(key) is not None
        self._data.pop(self.prefix + key, None)
        return existed

    async def exists_many(self, keys: Sequence[str]) -> list[bool]:
        return [self._live(k) is not None for k in keys]

    async def hset(self, key: str, field: str, value: bytes, *, min_ttl: float) -> None:
        entry = self._live(key)
        if entry is None:
            entry = self._data[self.prefix + key] = _Entry({}, None)
        if not isinstance(entry.value, dict):
            raise TypeError(f"{key} holds a string, not a hash")
        entry.value[field] = bytes(value)
        wanted = self._clock() + min_ttl
        if entry.expires_at is None or entry.expires_at < wanted:
            entry.expires_at = wanted
        self._wrote()

    async def hget(self, key: str, field: str) -> bytes | None:
        fields = self._hash(key)
        return None if fields is None else fields.get(field)

    async def hgetall(self, key: str) -> dict[str, bytes]:
        fields = self._hash(key)
        return {} if fields is None else dict(fields)

    async def hdel(self, key: str, *fields: str) -> int:
        values = self._hash(key)
        if values is None:
            return 0
        removed = sum(values.pop(f, None) is not None for f in fields)
        if not values:
            # Like Redis: an empty hash does not exist.
            del self._data[self.prefix + key]
        return removed

    async def incr(self, key: str, ttl: float) -> int:
        found = self._string(key)
        if found is None:
            entry = self._data[self.prefix + key] = _Entry(b"0", self._clock() + ttl)
            found = entry, b"0"
        count = int(found[1]) + 1
        found[0].value = str(count).encode()
        self._wrote()
        return count

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        # One event loop, no await in between: the check and the write cannot interleave with another task.
        if self._live(key) is not None:
            return False
        self._data[self.prefix + key] = _Entry(bytes(value), self._clock() + ttl)
        self._wrote()
        return True

    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        found = self._string(key)
        if found is None or found[1] != value:
            return False
        del self._data[self.prefix + key]
        return True

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
