"""``open_store(settings)``: the store the configuration asks for (memory, or Redis in any mode)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff, NoBackoff

from app.settings import Settings
from app.store.memory_store import MemoryStore
from app.store.protocol import Store
from app.store.redis_store import DEFAULT_TIMEOUT, RedisStore

log = logging.getLogger("bff.sessions")


def _client_options(timeout: float) -> dict[str, Any]:
    return {
        # None, not redis-py's default: RedisStore bounds each call itself (see RedisStore._call for why).
        "socket_timeout": None,
        "socket_connect_timeout": timeout,
        # One quick retry: a pooled connection left over from before a Redis restart fails once, and the
        # retry on a fresh connection succeeds. More retries would only delay the 503 during an outage.
        "retry": Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        "decode_responses": False,
    }


def _sentinel_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"BFF_REDIS_SENTINELS: {text!r} is not host:port")
    return host.strip("[]"), int(port)


def open_store(
    settings: Settings,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    clock: Callable[[], float] = time.time,
    cached: str | None = None,
) -> Store:
    """The store for ``settings`` (nothing connects yet); ``clock`` drives the memory store's expiry.

    ``cached``: the keys (by prefix, below the store's) whose reads may come from a tracked local copy when
    ``BFF_SESSION_CACHE`` is on; the session records' for the app (``app.sessions.service.RECORD_KEYS``).
    """
    prefix = settings.bff_redis_key_prefix
    if settings.bff_redis_url is None:
        log.warning("BFF_REDIS_URL is not set: sessions live in this process only (development)")
        return MemoryStore(prefix=prefix, clock=clock)
    url = settings.bff_redis_url.get_secret_value()
    options = _client_options(timeout)
    # The proxy's session reads may come from a copy kept true by Redis (app.store.cache).
    cache = cached if settings.bff_session_cache == "on" else None
    if settings.bff_redis_mode == "cluster":
        options.pop("retry")  # the cluster client retries by re-reading the slot map instead
        return RedisStore(RedisCluster.from_url(url, **options), prefix=prefix, timeout=timeout, cache=cache)
    if settings.bff_redis_mode == "sentinel":
        # The URL gives what the master connection needs (password, db, TLS); the sentinels give its address.
        parsed = parse_url(url)
        master_options = {
            k: v for k, v in parsed.items() if k not in ("host", "port", "path", "connection_class")
        }
        sentinel_options: dict[str, Any] = {
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # No retries per sentinel: discovery already moves on to the next one. redis-py's default (three
            # retries with growing backoff, each) made a wrong sentinel password a 25 s hang.
            "retry": Retry(NoBackoff(), 0),
        }
        if url.startswith("rediss://"):
            # The sentinel pool picks its own (TLS) connection class from this flag.
            master_options["ssl"] = True
            # The sentinels speak TLS too, trusting the same CA (and client certificate) as the data nodes.
            sentinel_options["ssl"] = True
            sentinel_options.update({k: v for k, v in master_options.items() if k.startswith("ssl_")})
        if settings.bff_redis_sentinel_password is not None:
            sentinel_options["password"] = settings.bff_redis_sentinel_password.get_secret_value()
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            [_sentinel_address(s) for s in settings.bff_redis_sentinels],
            sentinel_kwargs=sentinel_options,
            **options,
            **master_options,
        )
        master = sentinel.master_for(settings.bff_redis_sentinel_master, redis_class=Redis)
        return RedisStore(master, prefix=prefix, timeout=timeout, also_close=sentinel.sentinels, cache=cache)
    return RedisStore(Redis.from_url(url, **options), prefix=prefix, timeout=timeout, cache=cache)
