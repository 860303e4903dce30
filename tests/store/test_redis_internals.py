"""The redis-py internals app/store/direct.py drives are still there, with the arguments it passes.

redis is pinned to a minor range for them; when an upgrade moves one, this fails by name (before the store
fails at run time on the proxy's path), and app/store/direct.py's docstring says what each one must do.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection, Connection
from redis.asyncio.sentinel import SentinelManagedConnection
from redis.exceptions import ConnectionError as RedisConnectionError

from app.store.direct import DirectConnections
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

CONNECTION_CLASSES = [Connection, SentinelManagedConnection]
CALLED = ("connect", "send_command", "send_packed_command", "pack_commands", "read_response", "disconnect")


def _parameters(function: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_the_pool_makes_a_connection_of_its_own_class_outside_its_count() -> None:
    assert list(_parameters(ConnectionPool.make_connection)) == ["self"], "ConnectionPool.make_connection()"
    pool = ConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}/0")
    connection = pool.make_connection()
    assert isinstance(connection, Connection), "make_connection() no longer returns the pool's class"
    assert not pool._in_use_connections, "make_connection() now counts the connection as the pool's"


@pytest.mark.parametrize("kind", CONNECTION_CLASSES, ids=lambda kind: kind.__name__)
def test_a_connection_has_the_members_the_direct_path_calls(kind: type[AbstractConnection]) -> None:
    assert isinstance(inspect.getattr_static(kind, "is_connected"), property), f"{kind.__name__}.is_connected"
    for name in CALLED:
        assert inspect.iscoroutinefunction(getattr(kind, name)) == (name != "pack_commands"), (
            f"{kind.__name__}.{name} changed between sync and async"
        )
    assert "check_health" in _parameters(kind.send_packed_command), (
        f"{kind.__name__}.send_packed_command(check_health=) is gone"
    )
    send = _parameters(kind.send_command)
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in send.values()), (
        f"{kind.__name__}.send_command(*args, **kwargs) no longer takes check_health="
    )
    assert "nowait" in _parameters(kind.disconnect), f"{kind.__name__}.disconnect(nowait=) is gone"
    assert "commands" in _parameters(kind.pack_commands), f"{kind.__name__}.pack_commands(commands) changed"


async def test_commands_one_and_pipelined_on_a_real_server(own_redis: RedisServer) -> None:
    client = Redis.from_url(own_redis.url)
    direct = DirectConnections(client.connection_pool, keep=2)
    try:
        assert await direct.execute("SET", "k", "v", "PX", 60_000) == b"OK"
        replies, via = await direct.execute_on(("GET", "k"), ("PTTL", "k"))
        assert replies[0] == b"v" and 0 < replies[1] <= 60_000
        assert (via.host, via.port) == ("127.0.0.1", own_redis.port), (
            "a connection no longer says its address"
        )
        # A connection the server has closed is found out by read_response, and the command tried once more.
        await client.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert await direct.execute("GET", "k") == b"v"
        # A command cancelled mid-way drops its connection instead of handing its reply to the next command.
        blocked = asyncio.create_task(direct.execute("BLPOP", "nothing", 5))
        await asyncio.sleep(0.1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        assert await direct.execute("GET", "k") == b"v"
    finally:
        await direct.aclose()
        await client.aclose()
    nowhere = DirectConnections(ConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}/0"), keep=1)
    with pytest.raises(RedisConnectionError):
        await nowhere.execute("PING")
