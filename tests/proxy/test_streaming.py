"""Bodies stream both ways (never buffered whole), and the request body limit holds for both framings."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.proxy.conftest import client_for, seeded_cookie
from tests.proxy.upstream_app import UpstreamState, pattern
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

MIB = 1024 * 1024
RULES = "GET /big, * /upload, * /echo"


@pytest.fixture
async def client(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread
) -> AsyncIterator[httpx.AsyncClient]:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES, bff_max_body_bytes=8 * MIB)
    async with client_for(bff, await seeded_cookie(redis_url), timeout=30) as browser:
        yield browser


async def test_a_5_mb_answer_streams_to_the_browser_before_the_tenant_has_finished(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    size = 5 * 1000 * 1000
    digest = hashlib.sha256()
    received = 0
    async with client.stream("GET", "/api/big", params={"size": size, "gated": 1}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-test"
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            received += len(chunk)
            if received >= MIB:
                # The upstream holds the rest until now: a buffering proxy would never have got us here.
                seen.gate.set()
    assert seen.gate.is_set()
    assert received == size
    assert digest.hexdigest() == hashlib.sha256(pattern(size)).hexdigest()


async def _slow_body(size: int, seen: UpstreamState) -> AsyncIterator[bytes]:
    body = pattern(size)
    yield body[:MIB]
    # Hold the rest back until the upstream has the first MiB: only a streaming proxy passes it on this early.
    deadline = time.monotonic() + 10
    while seen.received < MIB:
        assert time.monotonic() < deadline, "the first MiB never reached the upstream"
        await asyncio.sleep(0.01)
    for offset in range(MIB, size, 256 * 1024):
        yield body[offset : offset + 256 * 1024]


async def test_a_chunked_upload_streams_to_the_tenant_as_it_arrives(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    size = 5 * MIB
    response = await client.post("/api/upload", content=_slow_body(size, seen))
    assert response.status_code == 200, response.text
    echo = response.json()["Result"]
    assert echo["size"] == size
    assert echo["sha256"] == hashlib.sha256(pattern(size)).hexdigest()
    assert echo["headers"].get("transfer-encoding") == "chunked"


async def test_an_upload_with_content_length_goes_up_with_that_length(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    size = 3 * MIB + 7
    response = await client.put("/api/upload", content=pattern(size))
    echo = response.json()["Result"]
    assert echo["size"] == size
    assert echo["sha256"] == hashlib.sha256(pattern(size)).hexdigest()
    assert echo["headers"]["content-length"] == str(size)
    assert "transfer-encoding" not in echo["headers"]
    assert echo["method"] == "PUT"


async def test_an_empty_get_sends_no_body(client: httpx.AsyncClient, seen: UpstreamState) -> None:
    response = await client.get("/api/echo")
    echo = response.json()["Result"]
    assert echo["size"] == 0
    assert "transfer-encoding" not in echo["headers"]


async def test_a_declared_length_over_the_limit_is_413_and_nothing_goes_up(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    response = await client.post("/api/upload", content=pattern(8 * MIB + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    assert seen.started == []


async def test_exactly_the_limit_is_accepted(client: httpx.AsyncClient, seen: UpstreamState) -> None:
    response = await client.post("/api/upload", content=pattern(8 * MIB))
    assert response.status_code == 200
    assert response.json()["Result"]["size"] == 8 * MIB


async def test_a_chunked_body_over_the_limit_is_413_and_the_tenant_never_gets_a_complete_request(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    async def endless() -> AsyncIterator[bytes]:
        block = b"x" * (256 * 1024)
        for _ in range(40):  # 10 MiB, over the 8 MiB limit
            yield block

    response = await client.post("/api/upload", content=endless())
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"
    await asyncio.sleep(0.2)
    assert seen.completed == []
    assert seen.received <= 8 * MIB


async def test_the_default_limit_is_one_mib(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES)
    async with client_for(bff, await seeded_cookie(redis_url)) as browser:
        over = await browser.post("/api/upload", content=b"x" * (MIB + 1))
        at = await browser.post("/api/upload", content=b"x" * MIB)
    assert over.status_code == 413
    assert at.status_code == 200
