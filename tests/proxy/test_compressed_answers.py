"""A compressed token rejection still ends the session; other compressed answers reach the browser as sent."""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from app.proxy.encoding import DECODED_LIMIT, decoded
from tests.proxy.conftest import client_for, seeded_cookie
from tests.proxy.upstream_app import COMPRESSED_BODIES, UpstreamState, compress
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

RULES = "GET /compressed, GET /echo"
ENCODINGS = ["gzip", "deflate", "raw-deflate"]


@pytest.fixture
async def client(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread
) -> AsyncIterator[httpx.AsyncClient]:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES)
    async with client_for(bff, await seeded_cookie(redis_url)) as browser:
        yield browser


async def _assert_session_ended(client: httpx.AsyncClient, response: httpx.Response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "session_expired"
    assert response.headers["set-cookie"].startswith('bff=""')
    after = await client.get("/api/echo")
    assert after.status_code == 401 and after.json()["error"] == "unauthenticated"


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_compressed_token_rejection_in_a_200_body_ends_the_session(
    client: httpx.AsyncClient, seen: UpstreamState, encoding: str
) -> None:
    response = await client.get(
        "/api/compressed", params={"encoding": encoding}, headers={"Accept-Encoding": "gzip, deflate"}
    )
    await _assert_session_ended(client, response)


async def test_a_compressed_401_ends_the_session(client: httpx.AsyncClient, seen: UpstreamState) -> None:
    response = await client.get(
        "/api/compressed", params={"status": 401}, headers={"Accept-Encoding": "gzip"}
    )
    await _assert_session_ended(client, response)


@pytest.mark.parametrize("encoding", ENCODINGS)
async def test_a_compressed_answer_that_is_no_rejection_reaches_the_browser_as_sent(
    client: httpx.AsyncClient, seen: UpstreamState, encoding: str
) -> None:
    async with client.stream(
        "GET", "/api/compressed", params={"encoding": encoding, "body": "ok"}
    ) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.status_code == 200
    assert response.headers["content-encoding"] == ("deflate" if encoding == "raw-deflate" else encoding)
    assert raw == compress(json.dumps(COMPRESSED_BODIES["ok"]).encode(), encoding)  # never re-encoded
    assert (await client.get("/api/echo")).status_code == 200  # and the session lives


async def test_the_tenant_is_offered_only_codings_the_proxy_can_decode(
    client: httpx.AsyncClient, seen: UpstreamState
) -> None:
    # A browser's usual list: brotli or zstd would come back as an answer the rejection check cannot read.
    response = await client.get("/api/echo", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.status_code == 200
    assert seen.completed[0]["headers"]["accept-encoding"] == "gzip, deflate"


# decoded(), the unit under the check ---------------------------------------------------------------


def test_decoded_undoes_each_coding_from_the_last() -> None:
    raw = b'{"success":false,"Result":null}'
    assert decoded(compress(raw, "gzip"), b"gzip") == raw
    assert decoded(compress(raw, "gzip"), b"X-GZIP") == raw
    assert decoded(compress(raw, "raw-deflate"), b"deflate") == raw
    assert decoded(compress(compress(raw, "deflate"), "gzip"), b"deflate, gzip") == raw
    assert decoded(raw, b"identity") == raw


def test_decoded_gives_none_for_an_unknown_or_broken_coding() -> None:
    assert decoded(b"\x1b\x00", b"br") is None
    assert decoded(b"not gzip at all", b"gzip") is None


def test_decoded_output_is_bounded_whatever_the_answer_inflates_to() -> None:
    bomb = zlib.compress(b"\0" * (16 * 1024 * 1024), 9)  # 16 MiB in about 16 KiB
    plain = decoded(bomb, b"deflate")
    assert plain is not None and len(plain) <= DECODED_LIMIT + 1
