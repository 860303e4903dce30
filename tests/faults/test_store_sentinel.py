"""Sentinel failover under traffic: the primary dies, sessions live on in the promoted replica, no restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import StartBff, browser, login, wait_until
from tests.faults.test_store_outage import ANSWER_BOUND, Traffic
from tests.support.redis_sentinel import MASTER_NAME, SentinelGroup

pytestmark = pytest.mark.slow

#: From the primary's death to the BFF serving the old session again (down-after 1 s, failover-timeout 3 s).
FAILOVER_BOUND = 15.0


@pytest.fixture
def sentinels() -> Iterator[SentinelGroup]:
    with SentinelGroup() as group:
        yield group


def replicated(group: SentinelGroup) -> bool:
    """Whether the replica has every write the primary has (replication is asynchronous)."""
    primary = group.primary.cli("INFO", "replication")
    replica = group.replica.cli("INFO", "replication")

    def field(info: str, name: str) -> int:
        return int(next(line for line in info.splitlines() if line.startswith(name + ":")).split(":")[1])

    return field(replica, "slave_repl_offset") >= field(primary, "master_repl_offset")


async def test_primary_killed_sessions_survive_on_the_promoted_replica(
    sentinels: SentinelGroup, start_bff: StartBff
) -> None:
    bff = start_bff(
        bff_redis_url="redis://127.0.0.1:1/0",  # the address comes from the sentinels; the URL gives the rest
        bff_redis_mode="sentinel",
        bff_redis_sentinels=sentinels.sentinel_addresses,
        bff_redis_sentinel_master=MASTER_NAME,
    )
    async with browser(bff.url) as client, browser(bff.url) as watcher:
        await login(client)
        watcher.cookies.set("bff", client.cookies["bff"])

        async def caught_up() -> bool:
            return replicated(sentinels)

        await wait_until(caught_up, timeout=5)
        traffic = Traffic(watcher).start()
        await asyncio.sleep(0.2)

        sentinels.kill_primary()
        killed = time.monotonic()

        async def serving() -> bool:
            return (await client.get("/auth/session")).status_code == 200

        await wait_until(serving, timeout=FAILOVER_BOUND + 5, interval=0.1)
        back_after = time.monotonic() - killed

        # The watcher's reads (GET and PTTL, through redis-py's pool) and the sliding read above (on the
        # store's own connections) reconnect separately: wait for the watcher's own answer too.
        async def watcher_served() -> bool:
            return bool(traffic.answers) and traffic.answers[-1][0] == 200

        await wait_until(watcher_served, timeout=2, interval=0.02)
        promoted_after = sentinels.wait_for_promotion(timeout=5)
        await traffic.stop()

        # The session made before the crash, the user's listing and a new login all work on the new primary.
        state = await client.get("/auth/session")
        assert state.status_code == 200 and state.json()["user"]["username"] == "alice@example.com"
        assert len((await client.get("/auth/sessions")).json()) == 1
        async with browser(bff.url) as fresh:
            await login(fresh)
        assert (await client.get("/readyz")).status_code == 200

    print(f"sentinel failover: BFF served the old session again {back_after:.2f}s after the primary died")  # noqa: T201
    assert back_after < FAILOVER_BOUND, back_after
    assert promoted_after < FAILOVER_BOUND
    statuses = [status for status, _ in traffic.answers]
    # Only the session's own answers and the outage's 503: never a 500, never a lost session (401).
    assert set(statuses) <= {200, 503}, set(statuses)
    assert statuses[0] == 200 and 503 in statuses
    assert max(seconds for _, seconds in traffic.answers) < ANSWER_BOUND
