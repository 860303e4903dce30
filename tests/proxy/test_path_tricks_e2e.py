"""The path-trick corpus (tests/security/path_tricks.txt) through the real BFF: refused, nothing upstream.

Each trick goes out byte for byte on a raw socket (an HTTP client library would re-spell it), with a live
session and X-CSRF, so the allow-list is the only thing that can refuse it.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.proxy.conftest import client_for, login
from tests.security.test_path_tricks import RULES, TRICKS
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim

CORPUS_RULES = ", ".join(str(rule) for rule in RULES.rules)
# Bytes the server's HTTP parser refuses in a request line (400) before any app sees it: space, controls,
# DEL and raw non-ASCII. Everything else reaches the proxy and must be 403.
_PARSER_REFUSED = frozenset(range(0x21)) | frozenset(range(0x7F, 0x100))
# The request line ends at these (query, fragment, line break): what is left is an honest path, and the rest
# is a query or a header of its own.
_SPLIT = (b"?", b"#", b"\r", b"\n")


async def _raw_request(server: ServerThread, method: str, target: bytes, cookie: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(
            method.encode()
            + b" "
            + target
            + b" HTTP/1.1\r\nHost: "
            + server.host.encode()
            + b"\r\nCookie: "
            + cookie.encode()
            + b"\r\nX-CSRF: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            + b"Connection: close\r\n\r\n{}"
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
async def corpus_bff(make_bff: BffFactory, sim: Sim) -> tuple[ServerThread, str]:
    server = make_bff(bff_proxy_allow=CORPUS_RULES)
    async with client_for(server) as client:
        await login(client)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    sim.http.delete("/_sim/calls")
    return server, cookie


async def test_every_path_trick_is_refused_end_to_end_and_nothing_reaches_the_tenant(
    corpus_bff: tuple[ServerThread, str], sim: Sim
) -> None:
    server, cookie = corpus_bff
    tricks = TRICKS["refuse"] + TRICKS["nomatch"]
    outcomes: dict[int, int] = {}
    for trick in tricks:
        if any(mark in trick for mark in _SPLIT):
            continue  # below
        for method in ("GET", "POST", "DELETE"):
            status, body = await _raw_request(server, method, b"/api" + trick, cookie)
            outcomes[status] = outcomes.get(status, 0) + 1
            if any(byte in _PARSER_REFUSED for byte in trick):
                assert status == 400, (method, trick, status)
            elif not trick.startswith(b"/"):
                # "/apiUPRest/..." is not under /api at all: the router's 404, not the proxy.
                assert status == 404, (method, trick, status)
            else:
                assert status == 403, (method, trick, status, body)
                assert b'"error":"not_allowed"' in body
    assert sim.calls() == [], "a path trick reached the tenant"
    assert outcomes[403] > 3 * 120  # the corpus really ran through the proxy, not only the HTTP parser


async def test_tricks_the_request_line_splits_only_ever_reach_an_allowed_path(
    corpus_bff: tuple[ServerThread, str], sim: Sim
) -> None:
    server, cookie = corpus_bff
    split = [t for t in TRICKS["refuse"] + TRICKS["nomatch"] if any(m in t for m in _SPLIT)]
    assert split, "the corpus has query/fragment tricks"
    for trick in split:
        for method in ("GET", "POST"):
            await _raw_request(server, method, b"/api" + trick, cookie)
    calls = sim.calls()
    assert {(c["method"], c["path"]) for c in calls} <= {("POST", "/UPRest/GetUPData"), ("GET", "/Public/x")}
    # "/Public/x\r\nX-Injected: 1" makes a header of its own, which is not one the tenant may get.
    assert not any("x-injected" in c["headers"] for c in calls)


async def test_an_encoded_api_prefix_is_refused(corpus_bff: tuple[ServerThread, str], sim: Sim) -> None:
    # The router decodes /%61pi to /api; the proxy decides on the raw bytes, which do not say /api.
    server, cookie = corpus_bff
    status, body = await _raw_request(server, "POST", b"/%61pi/UPRest/GetUPData", cookie)
    assert status == 403 and b"not_allowed" in body
    assert sim.calls() == []


async def test_the_corpus_rules_let_an_honest_path_through(
    corpus_bff: tuple[ServerThread, str], sim: Sim
) -> None:
    # Without this, a BFF that refused everything would pass the tests above.
    server, cookie = corpus_bff
    status, body = await _raw_request(server, "POST", b"/api/UPRest/GetUPData", cookie)
    assert status == 200, body
    assert [c["path"] for c in sim.calls()] == ["/UPRest/GetUPData"]
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).status_code == 200
