"""Slow request bodies cannot starve the tenant pool: small bodies are read before a tenant connection is
taken, every body has a deadline (408), and one session has at most its cap of calls in flight (429)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest

from app.settings import Settings
from tests.proxy.conftest import client_for, seeded_cookie
from tests.proxy.raw import Connection, request_head
from tests.proxy.upstream_app import UpstreamState
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

RULES = "* /upload, * /echo"
#: The settings' default cap: the spec grants a session at least 16 calls in flight per replica.
CAP = 16
#: Seconds a plain call takes on a busy 2-core box at worst; a call that waits for a pooled connection
#: instead runs into the tenant timeout (5 s here) and answers 504.
PROMPT = 2.0


async def _trickle(bff: ServerThread, cookie: str, declared: int, sent: int) -> Connection:
    """A POST that declares ``declared`` body bytes, sends ``sent`` of them, then waits."""
    connection = await Connection.open(bff.port)
    head = request_head(bff.host, cookie, "POST", "/api/upload", [f"Content-Length: {declared}"])
    await connection.send(head + b"x" * sent)
    return connection


async def _answers(connections: list[Connection], timeout: float) -> list[int | None]:
    """Each connection's answer status, None for those still waiting after ``timeout`` seconds."""

    async def one(connection: Connection) -> int | None:
        try:
            return (await connection.answer(timeout)).status
        except TimeoutError:
            return None

    return list(await asyncio.gather(*(one(c) for c in connections)))


async def _wait_for(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def cookies(redis_url: str) -> tuple[str, str]:
    """Two sessions: the one that trickles, and another user's."""
    return await seeded_cookie(redis_url, "trickler-token"), await seeded_cookie(redis_url, "other-token")


@pytest.fixture
def slow_bff(make_bff: BffFactory, upstream: ServerThread) -> ServerThread:
    return make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES, cyberark_timeout=5)


@pytest.fixture
async def trickles() -> AsyncIterator[list[Connection]]:
    opened: list[Connection] = []
    yield opened
    for connection in opened:
        connection.close()


@pytest.mark.slow
async def test_small_trickling_uploads_of_one_session_leave_the_tenant_pool_to_other_sessions(
    slow_bff: ServerThread, cookies: tuple[str, str], seen: UpstreamState, trickles: list[Connection]
) -> None:
    trickler, other = cookies
    # More than the whole tenant pool (64 connections): each declares 1000 bytes and sends 1.
    trickles += await asyncio.gather(*(_trickle(slow_bff, trickler, 1000, 1) for _ in range(70)))
    await asyncio.sleep(0.5)  # every one of them is in the BFF now

    async with client_for(slow_bff, other) as browser:
        started = time.monotonic()
        response = await browser.post("/api/echo", json={"a": 1})
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert elapsed < PROMPT, f"another session's call took {elapsed:.2f}s"

    statuses = await _answers(trickles, timeout=1.0)
    # The session's cap of calls is in flight, still waiting for their bodies; every other one was refused.
    assert statuses.count(None) == CAP, statuses
    assert statuses.count(429) == len(trickles) - CAP, statuses
    # None of the trickles took a tenant connection: only the other session's call reached the tenant.
    assert [call["path"] for call in seen.started] == ["/echo"]


async def test_a_refused_call_says_rate_limited_with_retry_after(
    slow_bff: ServerThread, cookies: tuple[str, str], seen: UpstreamState, trickles: list[Connection]
) -> None:
    trickler, _ = cookies
    trickles += await asyncio.gather(*(_trickle(slow_bff, trickler, 1000, 1) for _ in range(CAP)))
    await asyncio.sleep(0.3)
    async with client_for(slow_bff, trickler) as browser:
        refused = await browser.post("/api/echo", json={})
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


async def test_calls_in_flight_are_counted_back_down_when_they_end(
    slow_bff: ServerThread, cookies: tuple[str, str], seen: UpstreamState, trickles: list[Connection]
) -> None:
    trickler, _ = cookies
    trickles += await asyncio.gather(*(_trickle(slow_bff, trickler, 1000, 1) for _ in range(CAP)))
    await asyncio.sleep(0.3)
    async with client_for(slow_bff, trickler) as browser:
        assert (await browser.post("/api/echo", json={})).status_code == 429
        for connection in trickles:
            connection.close()  # the browser goes away: its calls end
        proxy = slow_bff.config.app.proxy
        await _wait_for(lambda: not proxy.in_flight, timeout=5)
        again = [await browser.post("/api/echo", json={}) for _ in range(CAP + 4)]
    assert [r.status_code for r in again] == [200] * (CAP + 4)  # one after another: never more than 1


@pytest.mark.slow
async def test_large_trickling_uploads_hold_at_most_the_session_cap_of_tenant_connections(
    slow_bff: ServerThread, cookies: tuple[str, str], seen: UpstreamState, trickles: list[Connection]
) -> None:
    trickler, other = cookies
    # Past the 64 KiB read before the tenant is called: these stream to the tenant, then stall.
    trickles += await asyncio.gather(*(_trickle(slow_bff, trickler, 200_000, 70_000) for _ in range(40)))
    await _wait_for(lambda: len(seen.started) >= CAP, timeout=10)
    await asyncio.sleep(0.5)
    assert len(seen.started) == CAP
    statuses = await _answers(trickles, timeout=1.0)
    assert statuses.count(429) == len(trickles) - CAP, statuses
    async with client_for(slow_bff, other) as browser:
        started = time.monotonic()
        response = await browser.post("/api/echo", json={})
        elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < PROMPT


@pytest.mark.parametrize(("declared", "sent"), [(1000, 10), (200_000, 70_000)], ids=["pre-read", "streamed"])
async def test_an_api_body_that_stops_arriving_is_408_and_the_tenant_never_gets_a_whole_request(
    make_bff: BffFactory,
    upstream: ServerThread,
    cookies: tuple[str, str],
    seen: UpstreamState,
    trickles: list[Connection],
    declared: int,
    sent: int,
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES, bff_proxy_body_timeout=1)
    trickler, _ = cookies
    trickles.append(await _trickle(bff, trickler, declared, sent))
    answer = await trickles[0].answer(timeout=5)
    assert answer.status == 408
    assert answer.json()["error"] == "request_timeout"
    assert answer.headers["connection"] == "close"
    assert await trickles[0].closed_by_server(timeout=2)
    await asyncio.sleep(0.2)
    assert seen.completed == []
    if declared <= 64 * 1024:
        assert seen.started == []  # read before any tenant connection was taken
    # The session's slot came back: its next call goes through.
    async with client_for(bff, trickler) as browser:
        assert (await browser.post("/api/echo", json={})).status_code == 200


async def test_a_body_that_arrives_slowly_but_within_the_deadline_goes_through(
    make_bff: BffFactory, upstream: ServerThread, cookies: tuple[str, str], seen: UpstreamState
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow=RULES, bff_proxy_body_timeout=5)

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 100
            await asyncio.sleep(0.2)

    async with client_for(bff, cookies[0]) as browser:
        response = await browser.post("/api/upload", content=slowly(), headers={"Content-Length": "500"})
    assert response.status_code == 200, response.text
    assert response.json()["Result"]["size"] == 500


def test_the_defaults_are_the_documented_ones() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.bff_proxy_preread_bytes == 64 * 1024
    assert settings.bff_proxy_body_timeout == 30
    assert settings.bff_proxy_max_in_flight == CAP
    with pytest.raises(ValueError, match="greater than or equal to 16"):
        Settings(_env_file=None, bff_proxy_max_in_flight=15)  # type: ignore[call-arg]
