"""The OAuth 2.0 login over real HTTP: the BFF, the simulator's OAuth2 app and a real Redis (api.md §2)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from redis import Redis

from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import (
    ALICE,
    APP,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthBffFactory,
    location,
    oauth_login,
    query,
    set_cookie_lines,
    to_callback,
)

pytestmark = pytest.mark.usefixtures("sim")


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that follows no redirect by itself and sends X-CSRF like the SPA."""
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


def session_keys(redis_url: str) -> list[bytes]:
    with Redis.from_url(redis_url) as raw:
        return list(raw.scan_iter("bff:s:*"))


def token_calls(sim: Sim) -> list[dict[str, Any]]:
    return [c for c in sim.calls() if c["path"] == f"/OAuth2/Token/{APP}"]


def form(call: dict[str, Any]) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call["body"]).items()}


async def test_options_list_the_modes_in_order(make_oauth_bff: OAuthBffFactory) -> None:
    bff = make_oauth_bff(bff_login_modes="oauth,api")
    async with httpx.AsyncClient(base_url=bff.url) as client:
        answer = await client.get("/auth/options")
    assert answer.status_code == 200 and answer.json() == {"login_modes": ["api", "oauth"]}


async def test_the_whole_login_call_and_logout(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    walk = await oauth_login(browser, bff, return_to="/apps?tab=2")

    # The authorize redirect carries everything the spec names, and a PKCE S256 challenge.
    sent = query(walk.authorize_url)
    assert walk.authorize_url.startswith(f"{sim.url}/OAuth2/Authorize/{APP}?")
    assert sent["response_type"] == "code" and sent["client_id"] == CLIENT_ID
    assert sent["redirect_uri"] == f"{bff.url}/auth/oauth/callback"
    assert sent["scope"] == "openid profile"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert len(base64.urlsafe_b64decode(sent["state"] + "==")) >= 16  # at least 128 bits
    assert len(sent["nonce"]) >= 22
    # The login cookie is opaque: neither state, nonce nor anything readable in it.
    assert sent["state"] not in walk.login_cookie and sent["nonce"] not in walk.login_cookie

    # The callback made a session and went back to return_to.
    assert location(walk.callback) == "/apps?tab=2"
    cookies = set_cookie_lines(walk.callback)
    assert any(c.startswith("bff-oauth=;") or c.startswith('bff-oauth="";') for c in cookies), cookies
    session_cookie = next(c for c in cookies if c.startswith("bff="))
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    assert walk.callback.headers["cache-control"] == "no-store"

    # The code went to the token endpoint with the verifier and client_secret_basic.
    (exchange,) = token_calls(sim)
    body = form(exchange)
    assert body["grant_type"] == "authorization_code" and body["redirect_uri"] == sent["redirect_uri"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(body["code_verifier"].encode()).digest())
    assert challenge.rstrip(b"=").decode() == sent["code_challenge"]
    assert "client_secret" not in body
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert exchange["headers"]["authorization"] == f"Basic {basic}"

    state = await browser.get(f"{bff.url}/auth/session")
    assert state.status_code == 200, state.text
    assert state.json()["login"] == "oauth"
    user = state.json()["user"]
    assert user["username"] == ALICE and user["id"] and user["tenant"] == urlsplit(sim.url).netloc
    assert user["email"] and user["display_name"]
    listed = (await browser.get(f"{bff.url}/auth/sessions")).json()
    assert [(item["login"], item["current"]) for item in listed] == [("oauth", True)]

    # /api is proxied with the access token as the bearer.
    apps = await browser.post(f"{bff.url}/api/UPRest/GetUPData", json={})
    assert apps.status_code == 200, apps.text
    (upstream,) = [c for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    bearer = upstream["headers"]["authorization"].removeprefix("Bearer ")
    assert bearer and "access_token" not in apps.text

    # Logout revokes both tokens at the tenant and names the tenant's sign-out.
    grants_before = sim.http.get(f"/_sim/oauth/{APP}/grants").json()["revocations"]
    out = await browser.post(f"{bff.url}/auth/logout")
    assert out.status_code == 200
    url = out.json()["end_session_url"]
    assert set(out.json()) == {"end_session_url"}
    assert url.startswith(f"{sim.url}/OAuth2/EndSession/{APP}?")
    assert query(out.json()["end_session_url"]) == {"post_logout_redirect_uri": f"{bff.url}/"}
    revokes = [form(c) for c in sim.calls() if c["path"] == f"/OAuth2/Revoke/{APP}"]
    assert [r["token_type_hint"] for r in revokes] == ["refresh_token", "access_token"]
    assert revokes[1]["token"] == bearer
    assert sim.http.get(f"/_sim/oauth/{APP}/grants").json()["revocations"] == grants_before + 2
    assert (await browser.get(f"{bff.url}/auth/session")).status_code == 401
    assert session_keys(redis_url) == []
    # The revoked access token no longer works at the tenant.
    direct = httpx.post(f"{sim.url}/UPRest/GetUPData", json={}, headers={"Authorization": f"Bearer {bearer}"})
    assert direct.status_code == 401


async def test_a_failed_refresh_token_revocation_still_revokes_the_access_token(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    await oauth_login(browser, bff)
    assert (await browser.post(f"{bff.url}/api/UPRest/GetUPData", json={})).status_code == 200
    (upstream,) = [c for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    bearer = upstream["headers"]["authorization"].removeprefix("Bearer ")
    # The tenant fails the first revocation (the refresh token's) with a 500 page.
    sim.http.post("/_sim/faults", json={"path": f"/OAuth2/Revoke/{APP}", "status": 500, "times": 1})
    out = await browser.post(f"{bff.url}/auth/logout")
    assert out.status_code == 200 and (await browser.get(f"{bff.url}/auth/session")).status_code == 401
    revokes = [form(c) for c in sim.calls() if c["path"] == f"/OAuth2/Revoke/{APP}"]
    assert [r["token_type_hint"] for r in revokes] == ["refresh_token", "access_token"]
    direct = httpx.post(f"{sim.url}/UPRest/GetUPData", json={}, headers={"Authorization": f"Bearer {bearer}"})
    assert direct.status_code == 401  # the access token was revoked all the same


async def test_client_secret_post_sends_the_credentials_in_the_form(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(cyberark_oauth_client_auth="post")
    walk = await oauth_login(browser, bff)
    assert location(walk.callback) == "/"
    (exchange,) = token_calls(sim)
    body = form(exchange)
    assert (body["client_id"], body["client_secret"]) == (CLIENT_ID, CLIENT_SECRET)
    assert "authorization" not in exchange["headers"]
    assert (await browser.post(f"{bff.url}/auth/logout")).status_code == 200
    revokes = [c for c in sim.calls() if c["path"] == f"/OAuth2/Revoke/{APP}"]
    assert revokes and all(form(c)["client_secret"] == CLIENT_SECRET for c in revokes)


async def test_the_login_cookie_is_lax_httponly_and_lives_the_login_timeout(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_timeout=120)
    started = await browser.get(f"{bff.url}/auth/oauth/login")
    (cookie,) = set_cookie_lines(started)
    attributes = [part.strip() for part in cookie.split(";")]
    assert attributes[0].startswith("bff-oauth=")
    assert set(attributes[1:]) == {"HttpOnly", "Max-Age=120", "Path=/", "SameSite=lax"}
    assert started.headers["cache-control"] == "no-store"


async def test_with_oauth_off_the_oauth_routes_are_not_found(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_modes="api")
    assert (await browser.get(f"{bff.url}/auth/options")).json() == {"login_modes": ["api"]}
    for path in ("/auth/oauth/login", "/auth/oauth/callback?code=x&state=y"):
        answer = await browser.get(bff.url + path)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
        assert "set-cookie" not in answer.headers


async def test_login_navigations_are_not_counted_so_another_site_cannot_lock_out_an_address(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    # Ten <img src=".../auth/oauth/login"> on any page: ten navigations from the office's one address.
    bff = make_oauth_bff(bff_login_rate_limit="3/60,100/60")
    before = len(sim.calls())
    for _ in range(10):
        assert (await browser.get(f"{bff.url}/auth/oauth/login")).status_code == 302
    assert len(sim.calls()) == before  # the navigation makes no tenant call
    # The SPA's API login and the OAuth link still work for everyone behind that address.
    assert (await browser.post(f"{bff.url}/auth/login", json={"username": ALICE})).status_code == 200
    assert (await browser.get(f"{bff.url}/auth/oauth/login")).status_code == 302
    text = (await browser.get(f"{bff.url}/metrics")).text
    assert not re.search(r'bff_logins_total\{mode="oauth",outcome="rate_limited"\} [1-9]', text)


async def test_the_code_exchange_is_counted_per_client_ip_with_api_logins(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_login_rate_limit="3/60,100/60")
    assert (await browser.post(f"{bff.url}/auth/login", json={"username": ALICE})).status_code == 200
    # Callbacks that fail the state check reach no token endpoint and are not counted.
    for _ in range(5):
        _, callback_url, _ = await to_callback(browser, bff)
        refused = await browser.get(callback_url.replace("state=", "state=x"))
        assert location(refused) == "/?login_error=state_mismatch"
    for _ in range(2):  # the second and third attempt of this address
        assert location((await oauth_login(browser, bff)).callback) == "/"
    exchanges = len(token_calls(sim))
    _, callback_url, _ = await to_callback(browser, bff)
    limited = await browser.get(callback_url)
    assert location(limited) == "/?login_error=rate_limited"
    cookies = set_cookie_lines(limited)  # the login cookie cleared, no session made
    assert len(cookies) == 1 and cookies[0].startswith("bff-oauth=") and "Max-Age=0" in cookies[0]
    assert len(token_calls(sim)) == exchanges  # refused before the token endpoint
    text = (await browser.get(f"{bff.url}/metrics")).text
    assert re.search(r'bff_logins_total\{mode="oauth",outcome="rate_limited"\} 1\.0', text)
    # And the API login of that address is over its budget too: one bucket for both modes.
    refused = await browser.post(f"{bff.url}/auth/login", json={"username": ALICE})
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"


async def test_an_ipv6_client_has_one_login_budget_per_64_in_both_modes(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    # The same bucket as /auth/login (an IPv6 client: its /64, as any host may use any address of it).
    bff = make_oauth_bff(bff_login_rate_limit="3/60,100/60", bff_trusted_proxies="127.0.0.1/32")

    def sent_from(host: int, net: int = 2) -> dict[str, str]:
        return {"X-Forwarded-For": f"2001:db8:1:{net:x}::{host:x}"}

    login = await browser.post(f"{bff.url}/auth/login", json={"username": ALICE}, headers=sent_from(1))
    assert login.status_code == 200
    for host in (2, 3):
        _, callback_url, _ = await to_callback(browser, bff)
        assert location(await browser.get(callback_url, headers=sent_from(host))) == "/"
    _, callback_url, _ = await to_callback(browser, bff)
    refused = await browser.get(callback_url, headers=sent_from(4))
    assert location(refused) == "/?login_error=rate_limited"
    _, callback_url, _ = await to_callback(browser, bff)
    other = await browser.get(callback_url, headers=sent_from(1, net=3))
    assert location(other) == "/"  # the next /64 is another client


async def test_the_longest_return_to_comes_back_and_one_that_cannot_is_refused_at_once(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    longest = "/" + "a" * 2047
    walk = await oauth_login(browser, bff, return_to=longest)
    assert walk.callback.status_code == 302 and location(walk.callback) == longest
    # Within 2,048 characters, but escaped six-fold in the sealed cookie: it would never come back.
    refused = await browser.get(f"{bff.url}/auth/oauth/login", params={"return_to": "/" + "\u00e9" * 600})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    assert "bff-oauth" not in refused.headers.get("set-cookie", "")


async def test_a_login_without_openid_names_the_user_from_userinfo(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(cyberark_oauth_scope="profile")
    walk = await oauth_login(browser, bff)
    assert "nonce" not in query(walk.authorize_url)
    assert location(walk.callback) == "/"
    assert [c["path"] for c in sim.calls() if c["path"].startswith("/OAuth2/UserInfo")] == [
        f"/OAuth2/UserInfo/{APP}"
    ]
    user = (await browser.get(f"{bff.url}/auth/session")).json()["user"]
    assert user["username"] == ALICE


async def test_api_and_oauth_logins_side_by_side_in_one_bff(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as other:
        started = await other.post(f"{bff.url}/auth/login", json={"username": ALICE})
        mechanism = started.json()["challenge"]["mechanisms"][0]["id"]
        done = await other.post(
            f"{bff.url}/auth/advance", json={"mechanism": mechanism, "answer": "alice-pass-1"}
        )
        assert done.json()["status"] == "authenticated"
        await oauth_login(browser, bff)
        listed = (await browser.get(f"{bff.url}/auth/sessions")).json()
        assert sorted((item["login"], item["current"]) for item in listed) == [
            ("api", False),
            ("oauth", True),
        ]
        assert (await other.get(f"{bff.url}/auth/session")).json()["login"] == "api"
        assert (await other.post(f"{bff.url}/api/UPRest/GetUPData", json={})).status_code == 200
        assert (await other.post(f"{bff.url}/auth/logout")).status_code == 204


async def test_metrics_count_oauth_logins_by_mode(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    await oauth_login(browser, bff)
    async with httpx.AsyncClient(timeout=15) as stranger:  # no tenant session: the sign-in page shows
        _, callback_url, _ = await to_callback(stranger, bff, cancel=True)
        assert location(await stranger.get(callback_url)) == "/?login_error=access_denied"
    text = (await browser.get(f"{bff.url}/metrics")).text
    for outcome, count in (("started", 2), ("succeeded", 1), ("denied", 1)):
        assert f'bff_logins_total{{mode="oauth",outcome="{outcome}"}} {count}.0' in text, outcome
    assert urlsplit(callback_url).path == "/auth/oauth/callback"
