"""The BFF on a real 3-master Redis Cluster: single-key commands only, keys spread over the slots, outages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import StartBff, browser, login, wait_until
from tests.faults.test_store_outage import ANSWER_BOUND, assert_store_unavailable
from tests.support.redis_cluster import RedisClusterNodes

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster() -> Iterator[RedisClusterNodes]:
    # An append-only file, as a production cluster without replicas would have: a master that restarts keeps
    # its sessions. Without it the session survives only when its slot is on another master (2 times in 3).
    with RedisClusterNodes(3, node_args=["--appendonly", "yes", "--appendfsync", "always"]) as nodes:
        yield nodes


async def test_every_route_works_on_a_cluster_and_keys_spread_over_masters(
    cluster: RedisClusterNodes, start_bff: StartBff
) -> None:
    bff = start_bff(bff_redis_url=cluster.url, bff_redis_mode="cluster")
    clients = [browser(bff.url) for _ in range(6)]
    try:
        await asyncio.gather(*(login(c) for c in clients))
        first, second, *others = clients
        for client in clients:
            assert (await client.get("/auth/session")).status_code == 200
        assert (await first.get("/readyz")).status_code == 200
        # The per-user index and the records live in different slots; listing and revoking cross them.
        listed = (await first.get("/auth/sessions")).json()
        assert len(listed) == len(clients)
        victim = next(item["id"] for item in listed if not item["current"])
        assert (await first.delete(f"/auth/sessions/{victim}")).status_code == 204
        assert len((await first.get("/auth/sessions")).json()) == len(clients) - 1
        assert (await second.post("/auth/logout")).status_code == 204
        assert (await second.get("/auth/session")).status_code == 401
        # A login in progress (its own key) works too.
        assert (await second.post("/auth/login", json={"username": "sms@example.com"})).status_code == 200
    finally:
        for client in clients:
            await client.aclose()

    keys = cluster.keys_per_node()
    assert all(key.startswith("bff:") for node in keys for key in node)
    # With a dozen keys over 16384 slots, more than one master holds some: the cluster really was used.
    assert sum(1 for node in keys if node) >= 2, keys


async def test_a_master_down_is_503_then_the_cluster_recovers_alone(
    cluster: RedisClusterNodes, start_bff: StartBff
) -> None:
    bff = start_bff(bff_redis_url=cluster.url, bff_redis_mode="cluster")
    async with browser(bff.url) as client:
        await login(client)
        down = cluster.nodes[1]
        down.stop()  # its cluster config stays in its folder: it rejoins with the same id and slots

        # Until the others mark it failed the other slots still answer; after that the cluster refuses all.
        answers: list[tuple[int, float]] = []

        async def refused() -> bool:
            started = time.monotonic()
            response = await client.get("/auth/session")
            answers.append((response.status_code, time.monotonic() - started))
            if response.status_code == 503:
                await assert_store_unavailable(response)
            return (await client.get("/readyz")).status_code == 503

        await wait_until(refused, timeout=10, interval=0.1)
        down.start()

        async def serving() -> bool:
            started = time.monotonic()
            response = await client.get("/auth/session")
            answers.append((response.status_code, time.monotonic() - started))
            return response.status_code == 200 and (await client.get("/readyz")).status_code == 200

        await wait_until(serving, timeout=20, interval=0.2)

    assert {status for status, _ in answers} <= {200, 503}, answers
    assert max(seconds for _, seconds in answers) < ANSWER_BOUND


#: The admin user creates the cluster; the BFF's user has its prefix and no admin command; default is off.
CLUSTER_ACL = ["--user", "admin", "on", ">admin-pw-1", "~*", "&*", "+@all"]
CLUSTER_ACL += [
    "--user",
    "bff",
    "on",
    ">bff-pw-1",
    "~bff:*",
    "+@all",
    "-@dangerous",
    "--user",
    "default",
    "off",
]


@pytest.fixture
def secure_cluster(tls_files: dict[str, str]) -> Iterator[RedisClusterNodes]:
    admin = ["--user", "admin", "--pass", "admin-pw-1", "--no-auth-warning"]
    with RedisClusterNodes(3, node_args=CLUSTER_ACL, cli_args=admin, tls=tls_files) as nodes:
        yield nodes


async def test_cluster_over_tls_with_an_acl_user(
    secure_cluster: RedisClusterNodes, tls_files: dict[str, str], start_bff: StartBff
) -> None:
    port = secure_cluster.ports[0]
    url = f"rediss://bff:bff-pw-1@127.0.0.1:{port}/0?ssl_ca_certs={tls_files['ca']}"
    bff = start_bff(bff_redis_url=url, bff_redis_mode="cluster")
    async with browser(bff.url) as client, browser(bff.url) as other:
        assert (await client.get("/readyz")).status_code == 200
        await login(client)
        await login(other)
        assert len((await client.get("/auth/sessions")).json()) == 2
        assert (await other.post("/auth/logout")).status_code == 204
        assert len((await client.get("/auth/sessions")).json()) == 1
    keys = secure_cluster.keys_per_node()
    assert all(key.startswith("bff:") for node in keys for key in node) and sum(map(len, keys)) >= 2

    # The same cluster refuses a wrong password: readiness 503, the routes 503, never a 500.
    wrong = start_bff(bff_redis_url=url.replace("bff-pw-1", "wrong"), bff_redis_mode="cluster")
    async with browser(wrong.url) as client:
        assert (await client.get("/readyz")).status_code == 503
        await assert_store_unavailable(
            await client.post("/auth/login", json={"username": "alice@example.com"})
        )
