"""The Redis store (redis-py asyncio, hiredis parser when installed): standalone, sentinel or cluster client.

Every command goes to ONE key, and the compound operations (hash field + expiry, counter + expiry, the
compare-and-set and compare-and-delete) are single-key Lua scripts, so nothing here needs MULTI or a
cross-slot command; see :mod:`app.store.protocol`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Awaitable, Iterator, Sequence
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from app.errors import StoreUnavailable
from app.store.cache import MAX_BYTES, MAX_ENTRIES, TrackedCache
from app.store.direct import DirectConnections

# HSET, then make the hash live at least ARGV[3] ms more: PTTL is -1 without expiry, so it is set then too.
_HSET_MIN_TTL = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
"""

# A fixed-window counter: the expiry is set by the first increment only (and repaired if ever missing).
_INCR_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
"""

# Delete a lock only while it still holds its owner's token: a lease that ran out and went to another owner
# must not be released by the first one.
_DELETE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# Compare-and-set: write a value only over the very one the writer read (a record another writer changed
# meanwhile, or ended, is left as it is).
_REPLACE_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


def _ms(seconds: float) -> int:
    # Redis refuses 0 and negative expiries; a TTL this short means "about to end" anyway.
    return max(1, math.ceil(seconds * 1000))


T = TypeVar("T")

#: Seconds one store call may take, its retry included. A session read is one small GET: anything slower is
#: an outage, and the route answers 503 quickly instead of holding the browser.
DEFAULT_TIMEOUT = 2.0
# redis-py's failures (connection, timeout, loading, read-only replica, cluster down), and our own deadline
# (TimeoutError is an OSError). RedisClusterException is not a RedisError: the cluster client raises it when
# no node answers.
_FAILURES = (RedisError, RedisClusterException, OSError)
#: Event-loop turns a cached read waits for its tracking connection to be read before it reads Redis instead.
_DRAIN_TURNS = 3


class _Expiry:
    """What the deadline timer does: cancel the task, and remember that it did."""

    __slots__ = ("cancelling", "fired", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.cancelling = task.cancelling()
        self.fired = False

    def fire(self) -> None:
        self.fired = True
        self.task.cancel()


class RedisStore:
    """The :class:`~app.store.protocol.Store` on Redis: ``RedisStore(Redis.from_url(url), prefix="bff:")``."""

    def __init__(
        self,
        client: Redis | RedisCluster,
        prefix: str = "bff:",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        also_close: Sequence[Redis] = (),
        cache: str | None = None,
        cache_max_entries: int = MAX_ENTRIES,
        cache_max_bytes: int = MAX_BYTES,
    ) -> None:
        self.prefix = prefix
        self.timeout = timeout
        self._client: Any = client
        # Clients that only serve this one (a sentinel's own connections) and end with it.
        self._also_close = tuple(also_close)
        self._hset_script = client.register_script(_HSET_MIN_TTL)
        self._incr_script = client.register_script(_INCR_WINDOW)
        self._delete_if_equal_script = client.register_script(_DELETE_IF_EQUAL)
        self._replace_if_equal_script = client.register_script(_REPLACE_IF_EQUAL)
        self._direct = (
            None if isinstance(client, RedisCluster) else DirectConnections(client.connection_pool, keep=64)
        )
        #: The tracked local copy of the keys starting with ``cache`` (``get_with_ttl(..., cached=True)``),
        #: or None without one.
        self.cache = (
            None
            if cache is None
            else TrackedCache(
                client, prefix + cache, max_entries=cache_max_entries, max_bytes=cache_max_bytes
            )
        )

    @property
    def client(self) -> Redis | RedisCluster:
        """The underlying redis-py client."""
        return cast(Redis | RedisCluster, self._client)

    async def _call(self, command: Awaitable[T]) -> T:
        """Await one redis-py call within ``timeout``; its failures and the deadline become StoreUnavailable.

        The deadline is ours, not redis-py's ``socket_timeout``: that one wraps every write in
        ``asyncio.wait_for``, a new Task per command, and this is on the proxy's path (a session read). It is
        ``asyncio.timeout`` cut to what one call needs (one timer, no state machine), so cheaper than it
        (``python -m bench.instructions``). A call cut off mid-read is cancelled inside redis-py, and its
        connection dropped.
        """
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("store calls run inside an asyncio task")  # as asyncio.timeout requires
        expiry = _Expiry(task)
        timer = task.get_loop().call_later(self.timeout, expiry.fire)
        try:
            return await command
        except asyncio.CancelledError:
            # Ours only when the timer fired and no one else asked to cancel the task meanwhile.
            if expiry.fired and task.uncancel() <= expiry.cancelling:
                raise StoreUnavailable("session store failed: TimeoutError") from TimeoutError()
            raise
        except _FAILURES as exc:
            # The message names the failure's type only, never values; it goes to logs, not to the browser.
            raise StoreUnavailable(f"session store failed: {type(exc).__name__}") from exc
        finally:
            timer.cancel()

    async def get(self, key: str) -> bytes | None:
        return cast(bytes | None, await self._call(self._client.get(self.prefix + key)))

    async def get_with_ttl(self, key: str, *, cached: bool = False) -> tuple[bytes | None, float | None]:
        name = self.prefix + key
        cache = self.cache if cached else None
        if cache is None:
            value, pttl, _ = await self._read_with_ttl(name)
        else:
            hit = cache.lookup(name)
            # Bytes on the tracking connection not handled yet (mostly a heartbeat's PONG): let the event loop
            # read them, a few turns at most, rather than go to Redis.
            turns = 0
            while hit is True and turns < _DRAIN_TURNS:
                await asyncio.sleep(0)
                turns += 1
                hit = cache.lookup(name)
            if not isinstance(hit, bool):
                return hit
            token = cache.begin(name)
            if token is None:
                value, pttl, _ = await self._read_with_ttl(name)
            else:
                started = time.monotonic()
                value, pttl, via = None, -2, None
                try:
                    value, pttl, via = await self._read_with_ttl(name)
                finally:
                    cache.end(name, token, value, None if pttl < 0 else pttl / 1000, started, via)
        if value is None:
            return None, None
        return value, None if pttl < 0 else pttl / 1000

    async def _read_with_ttl(self, name: str) -> tuple[bytes | None, int, Any]:
        """GET and PTTL in one round trip, and the connection that carried them (None in Cluster mode)."""
        if self._direct is None:
            pipe = self._client.pipeline(transaction=False)
            pipe.get(name)
            pipe.pttl(name)
            value, pttl = await self._call(pipe.execute())
            return value, int(pttl), None
        replies, via = await self._call(self._direct.execute_on(("GET", name), ("PTTL", name)))
        return replies[0], int(replies[1]), via

    async def expire(self, key: str, ttl: float) -> bool:
        name = self.prefix + key
        with self._changing(key):
            if self._direct is None:
                return bool(await self._call(self._client.pexpire(name, _ms(ttl))))
            return bool(await self._call(self._direct.execute("PEXPIRE", name, _ms(ttl))))

    async def ttl(self, key: str) -> float | None:
        pttl = int(await self._call(self._client.pttl(self.prefix + key)))
        return None if pttl < 0 else pttl / 1000

    async def set(self, key: str, value: bytes, ttl: float, *, only_if_exists: bool = False) -> bool:
        with self._changing(key):
            return bool(
                await self._call(self._client.set(self.prefix + key, value, px=_ms(ttl), xx=only_if_exists))
            )

    async def delete(self, key: str) -> bool:
        with self._changing(key):
            return bool(await self._call(self._client.delete(self.prefix + key)))

    async def replace_if_equal(self, key: str, expected: bytes, value: bytes, ttl: float) -> bool:
        with self._changing(key):
            script = self._replace_if_equal_script
            return bool(await self._call(script(keys=[self.prefix + key], args=[expected, value, _ms(ttl)])))

    @contextlib.contextmanager
    def _changing(self, key: str) -> Iterator[None]:
        """Around a write of ``key``: this replica's copy is forgotten before, and again after (a read that
        overlapped the write may have filled it with the old value; Redis's push would drop it soon after)."""
        if self.cache is None:
            yield
            return
        self.cache.discard(self.prefix + key)
        try:
            yield
        finally:
            self.cache.discard(self.prefix + key)

    async def exists_many(self, keys: Sequence[str]) -> list[bool]:
        if not keys:
            return []
        # One EXISTS per key in a plain pipeline: one round trip, and no cross-slot multi-key command.
        pipe = self._client.pipeline(transaction=False)
        for key in keys:
            pipe.exists(self.prefix + key)
        return [bool(n) for n in await self._call(pipe.execute())]

    async def hset(self, key: str, field: str, value: bytes, *, min_ttl: float) -> None:
        await self._call(self._hset_script(keys=[self.prefix + key], args=[field, value, _ms(min_ttl)]))

    async def hget(self, key: str, field: str) -> bytes | None:
        return cast(bytes | None, await self._call(self._client.hget(self.prefix + key, field)))

    async def hgetall(self, key: str) -> dict[str, bytes]:
        raw = await self._call(self._client.hgetall(self.prefix + key))
        return {k.decode(): v for k, v in raw.items()}

    async def hdel(self, key: str, *fields: str) -> int:
        if not fields:
            return 0
        return int(await self._call(self._client.hdel(self.prefix + key, *fields)))

    async def incr(self, key: str, ttl: float) -> int:
        return int(await self._call(self._incr_script(keys=[self.prefix + key], args=[_ms(ttl)])))

    async def set_if_absent(self, key: str, value: bytes, ttl: float) -> bool:
        return bool(await self._call(self._client.set(self.prefix + key, value, px=_ms(ttl), nx=True)))

    async def delete_if_equal(self, key: str, value: bytes) -> bool:
        with self._changing(key):
            script = self._delete_if_equal_script
            return bool(await self._call(script(keys=[self.prefix + key], args=[value])))

    async def ping(self) -> None:
        if isinstance(self._client, RedisCluster):
            # A cluster client PINGs one node, which answers PONG while another master is down and its
            # slots refuse every session: readiness must hear from every master.
            await self._call(self._client.ping(target_nodes=RedisCluster.PRIMARIES))
        else:
            await self._call(self._client.ping())

    async def aclose(self) -> None:
        if self.cache is not None:
            await self.cache.aclose()
        if self._direct is not None:
            await self._call(self._direct.aclose())
        await self._call(self._client.aclose())
        for client in self._also_close:
            await self._call(client.aclose())
