"""Calls that wait for another replica's token refresh, and a refresh that races a logout: two BFFs on one
real Redis against the simulator, whose token endpoint is held so the refresh stays in flight."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.faults.conftest import wait_until
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import APP, OAuthBffFactory, oauth_login

pytestmark = pytest.mark.usefixtures("sim")
GETUPDATA = "/api/UPRest/GetUPData"
TOKEN = f"/OAuth2/Token/{APP}"
REVOKE = f"/OAuth2/Revoke/{APP}"
#: Seconds the simulator holds the refresh: the time the waiting calls wait.
HELD = 3.0


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=30) as client:
        yield client


def grants(sim: Sim) -> dict[str, dict[str, int]]:
    answer: dict[str, dict[str, int]] = sim.http.get(f"/_sim/oauth/{APP}/grants").json()
    return answer


async def signed_in_with_a_token_due(bff: ServerThread, sim: Sim, browser: httpx.AsyncClient) -> str:
    """An OAuth session whose access token is due for a refresh at the next call; its cookie."""
    sim.post(f"/_sim/oauth/apps/{APP}", {"access_token_lifetime": 30})  # within the 60 s window already
    await oauth_login(browser, bff)
    sim.post(f"/_sim/oauth/apps/{APP}", {"access_token_lifetime": 3600})  # the refreshed one is not due
    cookie = browser.cookies.get("bff")
    assert cookie
    return cookie


async def call(base: str, cookie: str) -> httpx.Response:
    async with httpx.AsyncClient(headers={"X-CSRF": "1", "Cookie": f"bff={cookie}"}, timeout=30) as c:
        return await c.post(base + GETUPDATA, json={})


async def refresh_held_on(
    bff: ServerThread, sim: Sim, cookie: str, held: float = HELD
) -> asyncio.Task[httpx.Response]:
    """A call on ``bff`` that refreshes the session's token, held at the tenant for ``held`` seconds: from
    the return of this until then, ``bff`` holds the session's refresh lock."""
    sim.http.delete("/_sim/calls").raise_for_status()
    sim.post("/_sim/faults", {"path": TOKEN, "delay": held, "times": 1})
    refreshing = asyncio.create_task(call(bff.url, cookie))

    async def reached_the_tenant() -> bool:
        return any(c["path"] == TOKEN for c in sim.calls())

    await wait_until(reached_the_tenant, timeout=10)
    return refreshing


async def test_calls_waiting_for_another_replicas_refresh_count_against_the_in_flight_cap(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    one, two = make_oauth_bff(), make_oauth_bff(bff_proxy_max_in_flight=16)
    cookie = await signed_in_with_a_token_due(one, sim, browser)
    refreshing = await refresh_held_on(one, sim, cookie, held=6.0)
    first = [asyncio.create_task(call(two.url, cookie)) for _ in range(16)]

    async def sixteen_in_flight() -> bool:
        text = (await browser.get(two.url + "/metrics")).text
        line = next(x for x in text.splitlines() if x.startswith("bff_requests_in_flight "))
        return float(line.split()[1]) >= 17  # the sixteen, and this /metrics request

    await wait_until(sixteen_in_flight, timeout=5)
    # The seventeenth is refused at once, while the sixteen still wait for the refresh on the other BFF.
    extra = await call(two.url, cookie)
    assert not refreshing.done()
    assert extra.status_code == 429 and extra.json()["error"] == "rate_limited", extra.text
    assert extra.headers["retry-after"]
    assert (await refreshing).status_code == 200
    assert [r.status_code for r in await asyncio.gather(*first)] == [200] * 16
    assert grants(sim)["granted"]["refresh_token"] == 1


async def test_calls_waiting_for_another_replicas_refresh_back_off_instead_of_polling_the_store(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient, redis_url: str
) -> None:
    one, two = make_oauth_bff(), make_oauth_bff()
    cookie = await signed_in_with_a_token_due(one, sim, browser)
    raw = Redis.from_url(redis_url)
    try:
        refreshing = await refresh_held_on(one, sim, cookie)
        await raw.config_resetstat()
        waiting = await asyncio.gather(*(call(two.url, cookie) for _ in range(10)))
        stats = await raw.info("commandstats")
    finally:
        await raw.aclose()
    assert (await refreshing).status_code == 200
    assert [r.status_code for r in waiting] == [200] * 10
    assert grants(sim)["granted"]["refresh_token"] == 1
    reads = stats.get("cmdstat_get", {}).get("calls", 0)
    # Ten calls read their session once each; while the refresh is held (3 s), the replica's one waiting
    # attempt looks at the lock and the record a handful of times (pauses from 50 ms doubling to 1 s).
    # Looking every 50 ms per call was some 1,200 reads.
    assert reads <= 60, stats


async def test_tokens_a_refresh_got_after_a_logout_ended_the_session_are_revoked(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    cookie = await signed_in_with_a_token_due(bff, sim, browser)
    # The logout's own revocations fail (the tenant is briefly down for them), so only the refresh's own
    # revocation can end the tokens the refresh is about to get.
    sim.post("/_sim/faults", {"path": REVOKE, "status": 503, "times": 2})
    refreshing = await refresh_held_on(bff, sim, cookie)
    logout = await browser.post(bff.url + "/auth/logout")
    assert logout.status_code == 200 and "end_session_url" in logout.json()
    ended = await refreshing
    assert ended.status_code == 401 and ended.json()["error"] == "session_expired"
    counted = grants(sim)
    assert counted["granted"]["refresh_token"] == 1  # the tenant did mint new tokens
    state = sim.http.get("/_sim/oauth/state").json()
    assert state["refresh_live"] == 0 and state["grants_live"] == 0, state
    # Four revocations were sent: the logout's two (refused) and the refresh's two (the tenant's count).
    assert len([c for c in sim.calls() if c["path"] == REVOKE]) == 4 and counted["revocations"] == 2
