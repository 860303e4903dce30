"""Request framing under both servers uvicorn offers (``--http h11`` and ``--http httptools``), over raw
sockets: two framings of one body are refused and nothing reaches the tenant; one framing goes up as sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings
from tests.proxy.conftest import seeded_cookie
from tests.proxy.raw import Connection, request_head
from tests.proxy.upstream_app import UpstreamState
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET

RULES = "* /upload"
#: Hidden inside the chunked body: a tenant reading the Content-Length instead would take it as a request of
#: its own, outside the allow-list.
SMUGGLED = b"GET /secret HTTP/1.1\r\nHost: tenant\r\n\r\n"


@pytest.fixture(params=["h11", "httptools"])
def framed_bff(
    request: pytest.FixtureRequest, redis_url: str, upstream: ServerThread
) -> Iterator[ServerThread]:
    values: dict[str, Any] = {
        "cyberark_tenant_url": upstream.url,
        "bff_redis_url": redis_url,
        "bff_session_secrets": SECRET,
        "bff_cookie_secure": False,
        "bff_proxy_allow": RULES,
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    with ServerThread(create_app(settings), http=request.param) as server:
        yield server


@pytest.fixture
async def cookie(redis_url: str) -> str:
    return await seeded_cookie(redis_url)


@pytest.fixture
async def connection(framed_bff: ServerThread) -> AsyncIterator[Connection]:
    opened = await Connection.open(framed_bff.port)
    yield opened
    opened.close()


def _chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


async def test_content_length_with_transfer_encoding_is_refused_and_nothing_reaches_the_tenant(
    framed_bff: ServerThread, connection: Connection, cookie: str, seen: UpstreamState
) -> None:
    body = _chunked(b'{"a"', b":1}" + SMUGGLED)
    head = request_head(
        framed_bff.host, cookie, "POST", "/api/upload", ["Content-Length: 4", "Transfer-Encoding: chunked"]
    )
    await connection.send(head + body)
    answer = await connection.answer(timeout=5)
    assert answer.status == 400
    if framed_bff.config.http == "h11":
        # h11 takes such a request (the chunks win) and hands it to the BFF, which refuses it.
        assert answer.json()["error"] == "invalid_request"
    # httptools (llhttp) refuses it itself, before the BFF sees it: also a 400, in uvicorn's words.
    await asyncio.sleep(0.3)
    assert seen.started == []


@pytest.mark.parametrize("order", ["te-first", "cl-first"])
async def test_both_framings_are_refused_whichever_comes_first(
    framed_bff: ServerThread, connection: Connection, cookie: str, seen: UpstreamState, order: str
) -> None:
    framing = ["Transfer-Encoding: chunked", "Content-Length: 7"]
    if order == "cl-first":
        framing.reverse()
    head = request_head(framed_bff.host, cookie, "POST", "/api/upload", framing)
    await connection.send(head + _chunked(b'{"a":1}'))
    assert (await connection.answer(timeout=5)).status == 400
    await asyncio.sleep(0.3)
    assert seen.started == []


async def test_a_chunked_body_goes_up_chunked_with_no_length_of_the_browsers(
    framed_bff: ServerThread, connection: Connection, cookie: str, seen: UpstreamState
) -> None:
    head = request_head(framed_bff.host, cookie, "POST", "/api/upload", ["Transfer-Encoding: chunked"])
    await connection.send(head + _chunked(b'{"a"', b":1}"))
    answer = await connection.answer(timeout=5)
    assert answer.status == 200, answer.body
    echo = answer.json()["Result"]
    assert echo["size"] == 7
    assert "content-length" not in echo["headers"] or echo["headers"]["content-length"] == "7"


@pytest.mark.parametrize("size", [15, 200_000], ids=["pre-read", "streamed"])
async def test_a_body_with_a_content_length_goes_up_with_exactly_that_length(
    framed_bff: ServerThread, connection: Connection, cookie: str, seen: UpstreamState, size: int
) -> None:
    head = request_head(framed_bff.host, cookie, "POST", "/api/upload", [f"Content-Length: {size}"])
    # The bytes after the body are the next request on this connection (the BFF's 404), never the tenant's.
    await connection.send(head + b"x" * size + SMUGGLED)
    answer = await connection.answer(timeout=10)
    assert answer.status == 200, answer.body
    echo = answer.json()["Result"]
    assert echo["size"] == size
    assert echo["headers"]["content-length"] == str(size)
    assert "transfer-encoding" not in echo["headers"]
    assert (await connection.answer(timeout=5)).status == 404
    assert [call["path"] for call in seen.started] == ["/upload"]
