"""``BFF_LOGIN_MODES=oauth``: the API login routes do not exist, over real HTTP (README, "Two login modes").

An operator who turns ``api`` off expects no password to pass through the BFF: ``/auth/login``, ``/advance``,
``/poll`` and ``/cancel`` answer ``404 not_found``, the same JSON the OAuth routes answer with ``oauth`` off,
whatever the body; the tenant is never called, no cookie is set, no login is counted. The OAuth login, the
session routes and logout work as usual.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import ALICE, ALICE_PASSWORD, OAuthBffFactory, location, oauth_login

pytestmark = pytest.mark.usefixtures("sim")

API_LOGIN = [
    ("/auth/login", {"username": ALICE}),
    ("/auth/advance", {"mechanism": "m0", "answer": ALICE_PASSWORD}),
    ("/auth/advance", {"mechanism": "m1", "action": "start_oob"}),
    ("/auth/poll", {}),
    ("/auth/cancel", {}),
]


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that follows no redirect by itself and sends X-CSRF like the SPA."""
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


def tenant_calls(sim: Sim) -> list[str]:
    return [c["path"] for c in sim.calls() if c["path"].startswith("/Security/")]


async def test_without_api_the_api_login_routes_are_not_found(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_modes="oauth")
    # The answer the OAuth routes give when oauth is off, from a BFF configured the other way round.
    api_only = make_oauth_bff(bff_login_modes="api")
    oauth_off = await browser.get(f"{api_only.url}/auth/oauth/login")
    assert oauth_off.status_code == 404

    assert (await browser.get(f"{bff.url}/auth/options")).json() == {"login_modes": ["oauth"]}
    bodies: list[bytes] = [b"{not json", b'{"username": ""}', b"x" * 5000]
    for path, body in API_LOGIN:
        for content in [httpx.Request("POST", "/", json=body).content, *bodies]:
            answer = await browser.post(
                bff.url + path, content=content, headers={"Content-Type": "application/json"}
            )
            assert answer.status_code == 404, (path, content[:40], answer.text)
            assert answer.json() == oauth_off.json() == {"error": "not_found", "message": "Not found."}
            assert answer.headers["cache-control"] == "no-store"
            assert "set-cookie" not in answer.headers
    assert not browser.cookies

    # Nothing reached the tenant, and no login (nor a rate-limited one) was counted.
    assert tenant_calls(sim) == []
    metrics = (await browser.get(f"{bff.url}/metrics")).text
    assert not re.search(r'bff_logins_total\{mode="api"', metrics)
    # The same routes in the OpenAPI document say so.
    document = (await browser.get(f"{bff.url}/openapi.json")).json()
    for path in ("/auth/login", "/auth/advance", "/auth/poll", "/auth/cancel"):
        assert "404" in document["paths"][path]["post"]["responses"], path


async def test_without_api_the_oauth_login_and_the_session_routes_still_work(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_modes="oauth")
    walk = await oauth_login(browser, bff, return_to="/apps")
    assert location(walk.callback) == "/apps"

    state = await browser.get(f"{bff.url}/auth/session")
    assert state.status_code == 200 and state.json()["login"] == "oauth"
    (listed,) = (await browser.get(f"{bff.url}/auth/sessions")).json()
    assert listed["current"] and listed["login"] == "oauth"
    # A signed-in browser gets no API login either; its session is left alone.
    refused = await browser.post(f"{bff.url}/auth/login", json={"username": ALICE})
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 200

    logout = await browser.post(f"{bff.url}/auth/logout")
    assert logout.status_code == 200 and "end_session_url" in logout.json()
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 401
    # Only the OAuth login talked to the tenant: its sign-in, token and revoke calls, never the API login's.
    assert not [p for p in tenant_calls(sim) if "Authentication" in p]


async def test_with_both_modes_the_api_login_routes_answer(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_modes="api,oauth")
    started = await browser.post(f"{bff.url}/auth/login", json={"username": ALICE})
    assert started.status_code == 200 and started.json()["status"] == "challenge"
    assert (await browser.post(f"{bff.url}/auth/cancel", json={})).status_code == 204
