"""Redis with an ACL user, and over TLS with the CA: the BFF works; a wrong password or an untrusted
certificate is /readyz 503 and 503 store_unavailable on the routes, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.conftest import StartBff, browser, login
from tests.faults.test_store_outage import assert_store_unavailable
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

#: The BFF's user may touch only its own prefix and no admin command; the default user is switched off.
ACL_ARGS = ["--user", "bff", "on", ">bff-pw-1", "~bff:*", "+@all", "-@dangerous", "--user", "default", "off"]


@pytest.fixture
def acl_redis() -> Iterator[RedisServer]:
    with RedisServer(extra_args=ACL_ARGS) as server:
        yield server


@pytest.fixture
def tls_redis(tls_files: dict[str, str]) -> Iterator[RedisServer]:
    """TLS only (``--port 0``), with the ACL user; the TLS port is the server's port."""
    port = free_port()
    tls_args = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", tls_files["cert"]]
    tls_args += ["--tls-key-file", tls_files["key"], "--tls-ca-cert-file", tls_files["ca"]]
    tls_args += ["--tls-auth-clients", "no", *ACL_ARGS]
    with RedisServer(port=port, extra_args=tls_args) as server:
        yield server


async def test_acl_user_works(acl_redis: RedisServer, start_bff: StartBff) -> None:
    bff = start_bff(bff_redis_url=f"redis://bff:bff-pw-1@127.0.0.1:{acl_redis.port}/0")
    async with browser(bff.url) as client:
        assert (await client.get("/readyz")).status_code == 200
        await login(client)
        assert (await client.get("/auth/sessions")).status_code == 200
        assert (await client.post("/auth/logout")).status_code == 204


@pytest.mark.parametrize(
    "userinfo",
    ["bff:wrong-password", "nobody:bff-pw-1", ""],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
async def test_refused_credentials_are_503_never_500(
    acl_redis: RedisServer, start_bff: StartBff, userinfo: str
) -> None:
    at = f"{userinfo}@" if userinfo else ""
    bff = start_bff(bff_redis_url=f"redis://{at}127.0.0.1:{acl_redis.port}/0")
    async with browser(bff.url) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["store"] == "unavailable"
        await assert_store_unavailable(
            await client.post("/auth/login", json={"username": "alice@example.com"})
        )
        assert (await client.get("/healthz")).status_code == 200


async def test_a_prefix_outside_the_acl_is_503(acl_redis: RedisServer, start_bff: StartBff) -> None:
    # The ACL allows ~bff:* only: a misconfigured prefix is a refused command (NOPERM), not a crash.
    bff = start_bff(
        bff_redis_url=f"redis://bff:bff-pw-1@127.0.0.1:{acl_redis.port}/0", bff_redis_key_prefix="other:"
    )
    async with browser(bff.url) as client:
        await assert_store_unavailable(
            await client.post("/auth/login", json={"username": "alice@example.com"})
        )


async def test_tls_with_the_ca_and_acl_works(
    tls_redis: RedisServer, tls_files: dict[str, str], start_bff: StartBff
) -> None:
    bff = start_bff(
        bff_redis_url=f"rediss://bff:bff-pw-1@127.0.0.1:{tls_redis.port}/0?ssl_ca_certs={tls_files['ca']}"
    )
    async with browser(bff.url) as client:
        assert (await client.get("/readyz")).status_code == 200
        await login(client)
        assert (await client.get("/auth/session")).json()["authenticated"] is True


@pytest.mark.parametrize("url_kind", ["untrusted-ca", "plain-to-tls-port"])
async def test_tls_misconfigured_is_503(tls_redis: RedisServer, start_bff: StartBff, url_kind: str) -> None:
    scheme = "rediss" if url_kind == "untrusted-ca" else "redis"
    bff = start_bff(bff_redis_url=f"{scheme}://bff:bff-pw-1@127.0.0.1:{tls_redis.port}/0")
    async with browser(bff.url) as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        await assert_store_unavailable(
            await client.post("/auth/login", json={"username": "alice@example.com"})
        )
