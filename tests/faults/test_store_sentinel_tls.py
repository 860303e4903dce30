"""Sentinel mode with everything secured: TLS to the sentinels and the data nodes (one CA), an ACL user on the
data nodes, the sentinels' own password; sessions survive a failover; wrong sentinel credentials are 503."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.faults.conftest import StartBff, browser, login, wait_until
from tests.support.redis_sentinel import MASTER_NAME, Secure, SentinelGroup

pytestmark = pytest.mark.slow


@pytest.fixture
def secure_sentinels(tls_files: dict[str, str]) -> Iterator[SentinelGroup]:
    with SentinelGroup(secure=Secure(tls=tls_files)) as group:
        yield group


def _settings(group: SentinelGroup, tls_files: dict[str, str], sentinel_password: str) -> dict[str, str]:
    return {
        "bff_redis_url": f"rediss://bff:bff-pw-1@127.0.0.1:1/0?ssl_ca_certs={tls_files['ca']}",
        "bff_redis_mode": "sentinel",
        "bff_redis_sentinels": group.sentinel_addresses,
        "bff_redis_sentinel_master": MASTER_NAME,
        "bff_redis_sentinel_password": sentinel_password,
    }


async def test_sessions_live_on_through_a_secured_sentinel_failover(
    secure_sentinels: SentinelGroup, tls_files: dict[str, str], start_bff: StartBff
) -> None:
    # The URL's host and port are never used in sentinel mode: the sentinels name the master.
    bff = start_bff(**_settings(secure_sentinels, tls_files, "sentinel-pw-1"))
    async with browser(bff.url) as client:
        assert (await client.get("/readyz")).status_code == 200
        await login(client)
        assert secure_sentinels.primary.cli("DBSIZE").strip() != "0"  # written on the TLS primary

        async def replicated() -> bool:
            return (
                secure_sentinels.replica.cli("DBSIZE").strip()
                == secure_sentinels.primary.cli("DBSIZE").strip()
            )

        await wait_until(replicated, timeout=10)
        secure_sentinels.kill_primary()
        secure_sentinels.wait_for_promotion()

        async def served() -> bool:
            response = await client.get("/auth/session")
            return response.status_code == 200 and response.json()["authenticated"] is True

        await wait_until(served, timeout=15, interval=0.2)


async def test_a_wrong_sentinel_password_is_503_never_500(
    secure_sentinels: SentinelGroup, tls_files: dict[str, str], start_bff: StartBff
) -> None:
    bff = start_bff(**_settings(secure_sentinels, tls_files, "not-the-password"))
    async with browser(bff.url) as client:
        started = time.monotonic()
        ready = await client.get("/readyz")
        # Refused at once by every sentinel: an answer, not a hang (redis-py's default retries took 25 s).
        assert ready.status_code == 503 and time.monotonic() - started < 3
        session = await client.get("/auth/session", headers={"Cookie": "bff=anything"})
        assert session.status_code in (401, 503)  # a cookie that does not verify never reaches the store
        started = await client.post("/auth/login", json={"username": "alice@example.com"})
        assert started.status_code == 503 and started.json()["error"] == "store_unavailable"
