"""Commands on redis-py's own pool connections, one at a time, without the client's per-call machinery.

Example::

    direct = DirectConnections(Redis.from_url(url).connection_pool, keep=64)
    value, pttl = await direct.execute_many(("GET", "bff:s:ab12"), ("PTTL", "bff:s:ab12"))

This drives redis-py internals that are not its public API, which is why pyproject pins redis to a minor
range. Exactly these (tests/store/test_redis_internals.py fails by name when an upgrade changes one):

- ``ConnectionPool.make_connection()``: a new connection of the pool's class and options (TLS, credentials,
  db, the sentinel-managed class that finds the master), not counted against or returned to the pool;
- ``AbstractConnection.is_connected`` and ``connect()``: connect (AUTH, SELECT, HELLO) on first use;
- ``send_command(*args, check_health=False)`` and ``send_packed_command(data, check_health=False)`` with
  ``pack_commands(commands)``: write one command, or several pipelined, skipping the health check PING;
- ``read_response()``: read one reply, raising redis-py's errors (``ConnectionError`` when the peer is gone);
- ``disconnect(nowait=False)``: close; ``nowait=True`` does not wait on the write lock (the cancelled path).

The connection objects are also read by :mod:`app.store.cache` for ``host``, ``port`` and ``path`` (which
server answered a read).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError


class DirectConnections:
    """Connections of a redis-py pool used one command at a time, outside the client's call path.

    The session read (GET and PTTL, when the tracked copy cannot answer) is on the proxy's path. Through
    ``Redis.execute_command`` it would pay for what one command at a time does not need, a share of a proxied
    call that ``python -m bench.instructions`` shows: the pool's asyncio lock on take and return, a no-op
    ``connect`` through the retry wrapper, the observability hooks and the release event. Here a connection is
    taken from a plain list and put back, and the pool's own connection class still does everything at the
    protocol level: AUTH, SELECT, TLS, RESP, and for sentinel mode finding the master (and dropping a demoted
    one on READONLY). Cluster mode never comes here: it routes by slot.
    """

    def __init__(self, pool: ConnectionPool, keep: int) -> None:
        self._pool: Any = pool  # redis-py's asyncio pool and connections are untyped
        self._keep = keep
        self._idle: list[Any] = []

    async def execute(self, *args: str | int) -> Any:
        """One command and its reply. A connection that fails or is cut off is dropped, never reused."""
        return (await self.execute_many(args))[0]

    async def execute_many(self, *commands: tuple[str | int, ...]) -> list[Any]:
        """Commands pipelined into one round trip, and their replies (the ``connection`` they came on)."""
        replies, _ = await self.execute_on(*commands)
        return replies

    async def execute_on(self, *commands: tuple[str | int, ...]) -> tuple[list[Any], Any]:
        """The replies, and the connection that carried them (its address tells which server answered)."""
        try:
            connection = self._idle.pop() if self._idle else self._pool.make_connection()
            return await self._send(connection, commands), connection
        except RedisConnectionError:
            # An idle connection can be dead without knowing it (Redis restarted, a failover): one more try
            # on a fresh connection, as redis-py's own retry does. Every command sent here is idempotent.
            connection = self._pool.make_connection()
            return await self._send(connection, commands), connection

    async def _send(self, connection: Any, commands: tuple[tuple[str | int, ...], ...]) -> list[Any]:
        try:
            if not connection.is_connected:
                await connection.connect()
            if len(commands) == 1:
                await connection.send_command(*commands[0], check_health=False)
            else:
                await connection.send_packed_command(connection.pack_commands(commands), check_health=False)
            replies = [await connection.read_response() for _ in commands]
        except BaseException:
            # Cancelled (the store's deadline) or failed mid-command: its reply may still arrive, and would
            # be read as the next command's.
            await connection.disconnect(nowait=True)
            raise
        if len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            await connection.disconnect()
        return replies

    async def aclose(self) -> None:
        self._keep = 0  # a command still in flight closes its connection when done
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.disconnect()
