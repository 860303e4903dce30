"""``open_store``: memory without a URL; Redis over redis://, unix://, rediss:// and through a sentinel."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from app.errors import StoreUnavailable
from app.sessions.service import SessionService
from app.settings import Settings
from app.store.factory import open_store
from app.store.memory_store import MemoryStore
from app.store.protocol import Store
from app.store.redis_store import RedisStore
from tests.sessions.conftest import PREFIX, SECRET, FakeClock
from tests.support.ports import free_port, wait_for_port
from tests.support.redis_server import RedisServer

UserFactory = Callable[[str], dict[str, str]]


def settings(**values: object) -> Settings:
    return Settings(bff_redis_key_prefix=PREFIX, bff_session_secrets=SECRET.decode(), **values)  # type: ignore[arg-type]


async def round_trip(store: Store, user: dict[str, str]) -> None:
    """A session survives a create/load through ``store``."""
    sessions = SessionService(store, [SECRET], idle_timeout=60, max_lifetime=600)
    cookie, _ = await sessions.create(bearer="tok", user=user, user_agent="", ip="")
    loaded = await sessions.load(cookie)
    assert loaded is not None and loaded.bearer == "tok"


async def test_no_url_gives_the_memory_store_on_the_given_clock(user_factory: UserFactory) -> None:
    clock = FakeClock()
    store = open_store(settings(), clock=clock)
    assert isinstance(store, MemoryStore) and store.prefix == PREFIX
    await store.set("k", b"v", 10)
    clock.advance(11)
    assert await store.get("k") is None
    await round_trip(store, user_factory("alice"))


async def test_redis_url(redis_url: str, user_factory: UserFactory) -> None:
    store = open_store(settings(bff_redis_url=redis_url))
    assert isinstance(store, RedisStore)
    await round_trip(store, user_factory("alice"))
    raw = Redis.from_url(redis_url)
    keys = [k async for k in raw.scan_iter()]
    assert keys and all(k.startswith(PREFIX.encode()) for k in keys)
    await raw.aclose()
    await store.aclose()


async def test_unix_socket_url(user_factory: UserFactory) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bff-sock-"))
    socket_path = folder / "redis.sock"
    with RedisServer(extra_args=["--unixsocket", str(socket_path), "--unixsocketperm", "700"]):
        store = open_store(settings(bff_redis_url=f"unix://{socket_path}?db=0"))
        await round_trip(store, user_factory("alice"))
        await store.aclose()


async def test_tls_url(tls_files: dict[str, str], user_factory: UserFactory) -> None:
    tls_port = free_port()
    tls_args = ["--tls-port", str(tls_port), "--tls-cert-file", tls_files["cert"]]
    tls_args += [
        "--tls-key-file",
        tls_files["key"],
        "--tls-ca-cert-file",
        tls_files["ca"],
        "--tls-auth-clients",
        "no",
    ]
    with RedisServer(extra_args=tls_args):
        wait_for_port(tls_port)
        store = open_store(
            settings(bff_redis_url=f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={tls_files['ca']}")
        )
        await round_trip(store, user_factory("alice"))
        await store.aclose()
        # The same server refuses a client that does not trust its certificate.
        untrusting = open_store(settings(bff_redis_url=f"rediss://127.0.0.1:{tls_port}/0"), timeout=1)
        with pytest.raises(StoreUnavailable):
            await untrusting.ping()
        await untrusting.aclose()


@pytest.fixture
def sentinel(redis_server: RedisServer) -> Iterator[int]:
    """A real redis sentinel watching the session's redis-server as master ``mymaster``."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="bff-sentinel-"))
    conf = folder / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {folder}\n"
        f"sentinel monitor mymaster 127.0.0.1 {redis_server.port} 1\n"
    )
    proc = subprocess.Popen(
        ["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=5)


async def test_sentinel_mode(sentinel: int, redis_url: str, user_factory: UserFactory) -> None:
    store = open_store(
        settings(
            bff_redis_url="redis://ignored-host:1/0",
            bff_redis_mode="sentinel",
            bff_redis_sentinels=f"127.0.0.1:{sentinel}",
            bff_redis_sentinel_master="mymaster",
        )
    )
    await round_trip(store, user_factory("alice"))
    # The data went to the master the sentinel named.
    raw = Redis.from_url(redis_url)
    assert [k async for k in raw.scan_iter(match=PREFIX + "s:*")]
    await raw.aclose()
    await store.aclose()


async def test_cluster_mode_without_a_cluster_is_store_unavailable() -> None:
    # No cluster to test against here; this pins the client choice and the error translation.
    store = open_store(
        settings(bff_redis_url=f"redis://127.0.0.1:{free_port()}/0", bff_redis_mode="cluster"), timeout=0.5
    )
    assert isinstance(store, RedisStore) and isinstance(store.client, RedisCluster)
    with pytest.raises(StoreUnavailable):
        await store.ping()
    await store.aclose()
