"""A replica's copy of recently read session records, kept true by Redis (server-assisted client caching).

``RedisStore.get_with_ttl(key, cached=True)`` (the proxy's session read) answers from here when it can: no
Redis command at all. What keeps the copy true:

- **Invalidation.** A tracking connection per Redis master (RESP3, ``CLIENT TRACKING ON BCAST PREFIX
  <prefix>s:``) hears of every write, expiry or delete of a session key, from any replica, admin command or
  Redis itself, and the copy is dropped when that push is read. The same connection is re-made, and tracking
  re-enabled, after any loss; until then nothing is served from the copy.
- **Nothing served while a push may be waiting.** A hit needs the tracking connection quiet: no byte read
  from it but not yet handled, and none waiting in the kernel (a non-blocking ``MSG_PEEK``), so a request that
  starts after a writer's answer left Redis never sees the copy that write ended.
- **Nothing served from a silent Redis.** A PING every ``HEARTBEAT`` seconds; a connection unheard of for
  ``MAX_SILENCE`` serves nothing, and one unheard of for ``DEAD_AFTER`` is cut and re-made. That is the bound
  left when the network drops the push itself and says nothing (see README, Sessions).
- **Dropped whole** whenever a tracking connection is lost or re-made (a Redis restart, a Sentinel failover,
  a Cluster node gone), when a FLUSH is pushed, and in Cluster mode when a key's slot is found on another
  master. A read is kept only if no invalidation of its key and no drop happened while it was in flight,
  and (standalone, Sentinel) only if it came from the server the tracking connection listens to.
- **Bounded**: by count and bytes (least recently used out first), and never past the TTL Redis gave.

Records stay sealed here (AES-GCM under the session's own key, decrypted per request as before), so a heap
dump of a replica holds no more than Redis does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

log = logging.getLogger("bff.sessions")

#: Default bounds of one replica's copy.
MAX_ENTRIES = 20_000
MAX_BYTES = 32 * 1024 * 1024
#: Bytes counted per entry on top of its key and value (the dict slot, tuple and str objects).
ENTRY_OVERHEAD = 200

#: Seconds between PINGs on a tracking connection.
HEARTBEAT = 0.25
#: Seconds a tracking connection may be unheard of and still vouch for the copy.
MAX_SILENCE = 1.0
#: Seconds unheard of after which the tracking connection is cut and made again.
DEAD_AFTER = 3.0
#: Seconds to connect and enable tracking.
CONNECT_TIMEOUT = 2.0
#: Seconds between looks for Cluster masters that have no tracking connection yet.
CLUSTER_REFRESH = 5.0

_PEEK_FLAGS = socket.MSG_PEEK | socket.MSG_DONTWAIT


class RecordCache:
    """Values by key, least recently used out first, bounded by count and bytes, each until its deadline.

    Example::

        cache = RecordCache(max_entries=1000, max_bytes=1 << 20)
        token = cache.begin("bff:s:ab")           # before reading Redis
        cache.end("bff:s:ab", token, blob, deadline=time.monotonic() + 30)
        cache.get("bff:s:ab")                      # (blob, deadline, tag) until then, or an invalidation
    """

    def __init__(self, max_entries: int, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.clock = clock
        self.bytes = 0
        #: Bumped by every clear(): a read begun before it is not kept.
        self.epoch = 0
        self._entries: OrderedDict[str, tuple[bytes, float, str | None]] = OrderedDict()
        self._stamp = 0
        self._reading: dict[str, int] = {}
        self._invalidated: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> tuple[bytes, float, str | None] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self.clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def begin(self, key: str) -> tuple[int, int]:
        """Note a read of ``key`` about to start; pass the token to :meth:`end`."""
        self._reading[key] = self._reading.get(key, 0) + 1
        return self.epoch, self._stamp

    def end(
        self, key: str, token: tuple[int, int], value: bytes | None, deadline: float, tag: str | None = None
    ) -> bool:
        """Keep what the read found, unless ``key`` was invalidated or the cache cleared meanwhile."""
        left = self._reading.get(key, 1) - 1
        fresh = token[0] == self.epoch and self._invalidated.get(key, 0) <= token[1]
        if left > 0:
            self._reading[key] = left
        else:
            self._reading.pop(key, None)
            self._invalidated.pop(key, None)
        if fresh and value is not None:
            self._put(key, value, deadline, tag)
        return fresh

    def discard(self, key: str) -> None:
        """``key`` changed: forget it, and refuse any read of it now in flight."""
        self._stamp += 1
        if key in self._reading:
            self._invalidated[key] = self._stamp
        self._drop(key)

    def clear(self) -> None:
        """Forget everything, and refuse every read now in flight."""
        self.epoch += 1
        self._entries.clear()
        self.bytes = 0

    def _put(self, key: str, value: bytes, deadline: float, tag: str | None) -> None:
        size = len(key) + len(value) + ENTRY_OVERHEAD
        if size > self.max_bytes or deadline <= self.clock():
            return
        self._drop(key)
        while self._entries and (
            len(self._entries) >= self.max_entries or self.bytes + size > self.max_bytes
        ):
            oldest, (old_value, _, _) = self._entries.popitem(last=False)
            self.bytes -= len(oldest) + len(old_value) + ENTRY_OVERHEAD
        self._entries[key] = (value, deadline, tag)
        self.bytes += size

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= len(key) + len(entry[0]) + ENTRY_OVERHEAD


async def _echo(response: Any) -> Any:
    return response


def _address(connection: Any) -> tuple[Any, ...]:
    return (
        getattr(connection, "host", None),
        getattr(connection, "port", None),
        getattr(connection, "path", None),
    )


class _Tracker:
    """One tracking connection (RESP3, BCAST) to one Redis master, re-made whenever it is lost."""

    def __init__(self, owner: TrackedCache, name: str | None, make_connection: Callable[[], Any]) -> None:
        self.owner = owner
        self.name = name
        self.make_connection = make_connection
        self.ready = False
        self.address: tuple[Any, ...] | None = None
        self.last_heard = -math.inf
        self._connection: Any = None
        self._peek: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"session-cache-tracker {self.name}"
        )

    def quiet(self, now: float) -> bool:
        """True when the connection vouches for the copy: tracking on, heard of lately, nothing unread."""
        if not self.ready or now - self.last_heard > MAX_SILENCE:
            return False
        connection = self._connection
        reader: Any = getattr(connection, "_reader", None)
        if reader is None or reader._buffer:
            return False
        parsed = getattr(getattr(connection, "_parser", None), "_reader", None)
        if parsed is not None and hasattr(parsed, "has_data") and parsed.has_data():
            return False
        if self._peek is None:
            return False
        try:
            self._peek.recv(1, _PEEK_FLAGS)
        except BlockingIOError:
            return True
        except OSError:
            return False
        return False  # bytes waiting (a push, perhaps), or the end of the connection

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                await self._track()
                delay = 0.05
            except asyncio.CancelledError:
                await self._lost()
                raise
            except ResponseError as exc:
                await self._lost()
                self.owner.refused(exc)
                return
            except Exception as exc:  # noqa: BLE001 - any failure: the copy is dropped and the connection re-made
                log.debug("session cache: tracking connection lost", extra={"cause": type(exc).__name__})
            await self._lost()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _track(self) -> None:
        connection = self.make_connection()
        self._connection = connection
        connection._parser.set_invalidation_push_handler(_echo)
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await connection.connect()
            await connection.send_command(
                "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", self.owner.tracked_prefix, check_health=False
            )
            await connection.read_response()  # OK; a refusal raises ResponseError
        raw = connection._writer.get_extra_info("socket")
        self._peek = socket.socket(fileno=os.dup(raw.fileno()))
        self.address = _address(connection)
        # Whatever was copied before this connection listened may have changed unheard.
        self.owner.clear()
        self.last_heard = time.monotonic()
        self.ready = True
        pinger = asyncio.get_running_loop().create_task(self._ping(connection))
        try:
            while True:
                message = await connection.read_response(push_request=True, timeout=math.inf)
                self.last_heard = time.monotonic()
                if isinstance(message, list) and message and message[0] in (b"invalidate", "invalidate"):
                    keys = message[1]
                    if keys is None:
                        self.owner.clear()  # FLUSHDB / FLUSHALL
                    else:
                        for key in keys:
                            self.owner.cache.discard(key.decode() if isinstance(key, bytes) else str(key))
        finally:
            pinger.cancel()

    async def _ping(self, connection: Any) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            if time.monotonic() - self.last_heard > DEAD_AFTER:
                await connection.disconnect(nowait=True)  # the read above fails, and _run makes it again
                return
            await connection.send_command("PING", check_health=False)

    async def _lost(self) -> None:
        was_ready, self.ready = self.ready, False
        if was_ready:
            self.owner.clear()
        if self._peek is not None:
            self._peek.close()
            self._peek = None
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect(nowait=True)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._lost()


def _maker(connection_class: Any, kwargs: dict[str, Any]) -> Callable[[], Any]:
    """A new connection like the pool's (TLS, credentials, Sentinel's master lookup) but speaking RESP3."""
    return lambda: connection_class(**{**kwargs, "protocol": 3})


class TrackedCache:
    """The copy and its tracking connections for one store: ``TrackedCache(client, prefix="bff:s:")``.

    ``prefix`` is the whole key prefix whose values are copied and tracked (the store's own and the
    caller's part, e.g. the session records'): the store knows nothing of what its keys hold.
    """

    def __init__(
        self,
        client: Any,
        prefix: str,
        *,
        max_entries: int = MAX_ENTRIES,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.client = client
        self.tracked_prefix = prefix
        self.cache = RecordCache(max_entries, max_bytes)
        self.enabled = True
        self.cluster = isinstance(client, RedisCluster)
        self._trackers: dict[str | None, _Tracker] = {}
        self._started = False
        self._refresher: asyncio.Task[None] | None = None

    # The store's side --------------------------------------------------------------------------------

    def lookup(self, name: str) -> tuple[bytes, float] | bool:
        """The copy of ``name`` and its seconds left, when a tracking connection vouches for it now.

        Otherwise ``True`` when there is a copy but its tracking connection has bytes not yet handled (a
        PONG, or a push: worth letting the event loop read them and asking again), else ``False``.
        """
        if not self._started:
            self._start()
            return False
        if not self.enabled or not name.startswith(self.tracked_prefix):
            return False
        entry = self.cache.get(name)
        if entry is None:
            return False
        now = time.monotonic()
        tracker = self._trackers.get(self._owner(name) if self.cluster else None)
        if tracker is None:
            return False
        if not tracker.quiet(now):
            return tracker.ready and now - tracker.last_heard <= MAX_SILENCE
        if entry[2] != tracker.name:
            self.cache.clear()  # Cluster: the slot is now on another master
            return False
        return entry[0], entry[1] - now

    def begin(self, name: str) -> tuple[int, int, str | None] | None:
        """Before a read that may fill the copy: its token, or ``None`` when nothing would vouch for it."""
        if not self._started or not self.enabled or not name.startswith(self.tracked_prefix):
            return None
        owner = self._owner(name) if self.cluster else None
        tracker = self._trackers.get(owner)
        if tracker is None or not tracker.ready:
            return None
        epoch, stamp = self.cache.begin(name)
        return epoch, stamp, owner

    def end(
        self,
        name: str,
        token: tuple[int, int, str | None],
        value: bytes | None,
        ttl: float | None,
        started: float,
        via: Any = None,
    ) -> None:
        """After the read begun with ``token``: keep ``value`` if nothing changed meanwhile."""
        owner = token[2]
        tracker = self._trackers.get(owner)
        keep = value is not None and ttl is not None and tracker is not None and tracker.ready
        if keep and tracker is not None:
            if self.cluster:
                keep = self._owner(name) == owner
            elif via is not None:
                keep = _address(via) == tracker.address
        # The TTL counts from when Redis answered, at the latest from when the read started here.
        deadline = started + (ttl or 0.0)
        self.cache.end(name, token[:2], value if keep else None, deadline, owner)

    def discard(self, name: str) -> None:
        """This replica changed ``name``: forget it now (its push will come too)."""
        self.cache.discard(name)

    def clear(self) -> None:
        self.cache.clear()

    def refused(self, exc: ResponseError) -> None:
        if self.enabled:
            self.enabled = False
            self.cache.clear()
            log.warning(
                "session cache off: Redis refused CLIENT TRACKING; every request reads Redis",
                extra={"cause": str(exc)[:200]},
            )

    async def aclose(self) -> None:
        self.enabled = False
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresher
        for tracker in list(self._trackers.values()):
            await tracker.aclose()
        self._trackers.clear()
        self.cache.clear()

    # Internals ----------------------------------------------------------------------------------------

    def _start(self) -> None:
        if self._started or not self.enabled:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._started = True
        if self.cluster:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_cluster())
        else:
            pool = self.client.connection_pool
            tracker = _Tracker(self, None, _maker(pool.connection_class, pool.connection_kwargs))
            self._trackers[None] = tracker
            tracker.start()

    def _owner(self, name: str) -> str | None:
        nodes = self.client.nodes_manager.slots_cache.get(self.client.keyslot(name))
        return str(nodes[0].name) if nodes else None

    async def _refresh_cluster(self) -> None:
        while self.enabled:
            try:
                if not self.client.nodes_manager.slots_cache:
                    await self.client.initialize()
                primaries = {node.name: node for node in self.client.get_primaries()}
                for name in list(self._trackers):
                    if name not in primaries:
                        await self._trackers.pop(name).aclose()
                        self.cache.clear()
                for name, node in primaries.items():
                    if name not in self._trackers:
                        tracker = _Tracker(self, name, _maker(node.connection_class, node.connection_kwargs))
                        self._trackers[name] = tracker
                        tracker.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the cluster is down or moving: try again later
                log.debug("session cache: cluster refresh failed", extra={"cause": type(exc).__name__})
            await asyncio.sleep(CLUSTER_REFRESH if self._trackers else 0.5)
