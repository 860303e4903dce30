"""Refreshing OAuth sessions on the proxy path: once per session across two BFFs on one Redis, refused,
failing, and without a refresh token (api.md §2 "Refresh")."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import APP, Clock, OAuthBffFactory, location, oauth_login

pytestmark = pytest.mark.usefixtures("sim")
GETUPDATA = "/api/UPRest/GetUPData"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=30) as client:
        yield client


def app_settings(sim: Sim, **changes: object) -> None:
    sim.post(f"/_sim/oauth/apps/{APP}", dict(changes))


def grants(sim: Sim) -> dict[str, dict[str, int]]:
    answer: dict[str, dict[str, int]] = sim.http.get(f"/_sim/oauth/{APP}/grants").json()
    return answer


def upstream_bearers(sim: Sim) -> list[str]:
    return [c["headers"]["authorization"] for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]


async def test_sixteen_concurrent_calls_on_two_bffs_refresh_exactly_once(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    one, two = make_oauth_bff(), make_oauth_bff()
    app_settings(sim, access_token_lifetime=30)  # within the 60 s window from the start
    assert location((await oauth_login(browser, one)).callback) == "/"
    app_settings(sim, access_token_lifetime=3600)  # the refreshed token is not due again
    cookie = browser.cookies.get("bff")
    assert cookie
    sim.http.delete("/_sim/calls")

    async def call(base: str) -> httpx.Response:
        async with httpx.AsyncClient(headers={"X-CSRF": "1", "Cookie": f"bff={cookie}"}, timeout=30) as c:
            return await c.post(base + GETUPDATA, json={})

    answers = await asyncio.gather(*(call(one.url if i % 2 else two.url) for i in range(16)))
    assert [a.status_code for a in answers] == [200] * 16, [a.text for a in answers if a.status_code != 200]
    counted = grants(sim)
    assert counted["granted"]["refresh_token"] == 1
    assert counted["requests"].get("refresh_token") == 1
    bearers = upstream_bearers(sim)
    assert len(bearers) == 16 and len(set(bearers)) == 1, "every call used the one refreshed token"
    # The refreshed tokens are in the record: the next calls need no refresh, on either BFF.
    again = await asyncio.gather(call(one.url), call(two.url))
    assert [a.status_code for a in again] == [200, 200]
    assert grants(sim)["granted"]["refresh_token"] == 1
    text = (await browser.get(f"{one.url}/metrics")).text + (await browser.get(f"{two.url}/metrics")).text
    assert len(re.findall(r'bff_token_refreshes_total\{outcome="succeeded"\} 1\.0', text)) == 1


async def test_a_refused_refresh_ends_the_session(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    app_settings(sim, access_token_lifetime=30)
    await oauth_login(browser, bff)
    sim.post(f"/_sim/oauth/{APP}/fail", {"error": "invalid_grant", "grant_type": "refresh_token"})
    refused = await browser.post(bff.url + GETUPDATA, json={})
    assert refused.status_code == 401 and refused.json()["error"] == "session_expired"
    assert any(c.startswith("bff=") and "Max-Age=0" in c for c in refused.headers.get_list("set-cookie"))
    assert upstream_bearers(sim) == []  # nothing went upstream with the old token
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 401
    text = (await browser.get(f"{bff.url}/metrics")).text
    assert 'bff_token_refreshes_total{outcome="refused"} 1.0' in text


async def test_a_tenant_that_is_down_leaves_the_still_good_token_in_use(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    app_settings(sim, access_token_lifetime=30)
    await oauth_login(browser, bff)
    app_settings(sim, access_token_lifetime=3600)
    sim.post("/_sim/faults", {"path": f"/OAuth2/Token/{APP}", "status": 503, "times": 1})
    kept = await browser.post(bff.url + GETUPDATA, json={})
    assert kept.status_code == 200
    # The next call tries again and gets a fresh token.
    assert (await browser.post(bff.url + GETUPDATA, json={})).status_code == 200
    assert grants(sim)["granted"]["refresh_token"] == 1
    first, second = upstream_bearers(sim)
    assert first != second


async def test_an_expired_token_that_cannot_be_refreshed_is_an_upstream_error_not_a_logout(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    clock = Clock()
    bff = make_oauth_bff(clock=clock)
    app_settings(sim, access_token_lifetime=30)
    await oauth_login(browser, bff)
    clock.advance(31)  # the access token is over by the BFF's clock
    sim.post("/_sim/faults", {"path": f"/OAuth2/Token/{APP}", "status": 503, "times": 1})
    down = await browser.post(bff.url + GETUPDATA, json={})
    assert down.status_code == 502 and down.json()["error"] == "upstream_unavailable"
    assert (await browser.post(bff.url + GETUPDATA, json={})).status_code == 200


async def test_without_a_refresh_token_the_session_ends_with_its_access_token(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    clock = Clock()
    bff = make_oauth_bff(clock=clock)
    app_settings(sim, issue_refresh_tokens=False, access_token_lifetime=120)
    await oauth_login(browser, bff)
    state = (await browser.get(f"{bff.url}/auth/session")).json()
    # The session's absolute lifetime is the access token's, not BFF_SESSION_MAX_LIFETIME.
    left = datetime.fromisoformat(state["expires_at"]).timestamp() - clock()
    assert state["login"] == "oauth" and 110 < left <= 120
    assert (await browser.post(bff.url + GETUPDATA, json={})).status_code == 200
    clock.advance(100)  # within 60 s of the end: no refresh possible, the token still works
    assert (await browser.post(bff.url + GETUPDATA, json={})).status_code == 200
    clock.advance(21)
    over = await browser.post(bff.url + GETUPDATA, json={})
    assert over.status_code == 401
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 401
    assert grants(sim)["requests"].get("refresh_token") is None
