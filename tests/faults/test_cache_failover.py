"""The session cache through a Sentinel failover and a Redis restart: no session lost, none revoked served."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.faults.conftest import StartBff, browser, login, wait_until
from tests.faults.test_store_sentinel import FAILOVER_BOUND, replicated
from tests.support.asgi_server import ServerThread
from tests.support.redis_cluster import RedisClusterNodes
from tests.support.redis_sentinel import MASTER_NAME, SentinelGroup
from tests.support.redis_server import RedisServer

pytestmark = pytest.mark.slow

API = "/api/UPRest/GetUPData"


def tracker_of(bff: ServerThread) -> Any:
    cache = bff.config.app.state.services.store.cache  # type: ignore[union-attr]
    assert cache is not None
    return next(iter(cache._trackers.values()))


async def warm(*clients: httpx.AsyncClient) -> None:
    for client in clients:
        for _ in range(3):
            assert (await client.post(API, json={})).status_code == 200


async def revoke_and_check(
    laptop: httpx.AsyncClient, phone_on_two: httpx.AsyncClient, keep_on_two: httpx.AsyncClient
) -> None:
    """The laptop (on one) ends the phone's session: two refuses it at once, and still serves the laptop's."""
    listed = (await laptop.get("/auth/sessions")).json()
    phone_id = next(item["id"] for item in listed if not item["current"])
    assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 204
    assert (await phone_on_two.post(API, json={})).status_code == 401
    assert (await keep_on_two.post(API, json={})).status_code == 200


async def test_through_a_sentinel_failover_no_session_lost_and_no_revoked_one_served(
    start_bff: StartBff,
) -> None:
    with SentinelGroup() as sentinels:
        settings = {
            "bff_redis_url": "redis://127.0.0.1:1/0",
            "bff_redis_mode": "sentinel",
            "bff_redis_sentinels": sentinels.sentinel_addresses,
            "bff_redis_sentinel_master": MASTER_NAME,
            "bff_proxy_allow": "POST /UPRest/GetUPData",
        }
        one, two = start_bff(**settings), start_bff(**settings)
        async with (
            browser(one.url) as laptop,
            browser(two.url) as laptop_on_two,
            browser(two.url) as phone_on_two,
        ):
            laptop_on_two.cookies.set("bff", await login(laptop))
            await login(phone_on_two)
            await warm(laptop_on_two, phone_on_two)
            assert tracker_of(two).address[1] == sentinels.primary.port

            async def caught_up() -> bool:
                return replicated(sentinels)

            await wait_until(caught_up, timeout=5)
            sentinels.kill_primary()

            async def served() -> bool:
                answer = await laptop_on_two.post(API, json={})
                assert answer.status_code in (200, 503), answer.text  # never lost (401), never a 500
                return answer.status_code == 200 and tracker_of(two).ready

            await wait_until(served, timeout=FAILOVER_BOUND + 5, interval=0.1)
            sentinels.wait_for_promotion(timeout=5)
            # The copy now listens to the promoted replica, and is true there.
            assert tracker_of(two).address[1] == sentinels.replica.port
            await warm(laptop_on_two, phone_on_two)
            await revoke_and_check(laptop, phone_on_two, laptop_on_two)


@pytest.fixture
def persistent_redis() -> Iterator[RedisServer]:
    with RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"]) as server:
        yield server


async def test_through_a_redis_restart_no_session_lost_and_no_revoked_one_served(
    persistent_redis: RedisServer, start_bff: StartBff
) -> None:
    settings = {"bff_redis_url": persistent_redis.url, "bff_proxy_allow": "POST /UPRest/GetUPData"}
    one, two = start_bff(**settings), start_bff(**settings)
    async with (
        browser(one.url) as laptop,
        browser(two.url) as laptop_on_two,
        browser(two.url) as phone_on_two,
    ):
        laptop_on_two.cookies.set("bff", await login(laptop))
        await login(phone_on_two)
        await warm(laptop_on_two, phone_on_two)
        persistent_redis.stop()
        # While Redis is away nothing is served from the copy: a 503, never the copy's 200.
        answer = await phone_on_two.post(API, json={})
        assert answer.status_code == 503 and answer.json()["error"] == "store_unavailable"
        persistent_redis.start()  # same port, same data (the AOF)

        async def back() -> bool:
            return (await laptop_on_two.post(API, json={})).status_code == 200 and tracker_of(two).ready

        await wait_until(back, timeout=10, interval=0.05)
        await warm(laptop_on_two, phone_on_two)
        await asyncio.sleep(0.05)
        await revoke_and_check(laptop, phone_on_two, laptop_on_two)


async def test_on_a_cluster_every_master_is_tracked_and_ends_are_seen_at_once(start_bff: StartBff) -> None:
    with RedisClusterNodes(3) as cluster:
        settings = {
            "bff_redis_url": cluster.url,
            "bff_redis_mode": "cluster",
            "bff_proxy_allow": "POST /UPRest/GetUPData",
        }
        one, two = start_bff(**settings), start_bff(**settings)
        async with browser(one.url) as laptop, browser(two.url) as laptop_on_two:
            laptop_on_two.cookies.set("bff", await login(laptop))
            phones = [browser(two.url) for _ in range(6)]  # six records: over the masters, whatever the slots
            try:
                for phone in phones:
                    await login(phone)
                await warm(laptop_on_two, *phones)
                cache = two.config.app.state.services.store.cache

                async def all_tracked() -> bool:
                    return len(cache._trackers) == 3 and all(t.ready for t in cache._trackers.values())

                await wait_until(all_tracked, timeout=10)
                await warm(*phones)
                assert len(cache.cache) >= 6
                for phone in phones:
                    await revoke_and_check(laptop, phone, laptop_on_two)
            finally:
                for phone in phones:
                    await phone.aclose()
