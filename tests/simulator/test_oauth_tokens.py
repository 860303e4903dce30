"""What OAuth tokens do afterwards: refresh, revoke, userinfo, REST scope, JWKS, discovery, end session."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.simulator.helpers import ENVELOPE_KEYS, HEADERS, cookie_value, login
from tests.simulator.oauth_helpers import (
    APP,
    CLIENT_ID,
    REDIRECT,
    authorize_params,
    authorized,
    basic,
    login_tokens,
    pkce,
    refresh,
    token,
)
from tests.support.asgi_server import ServerThread


def _bearer(access: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {access}"}


async def _whoami(client: httpx.AsyncClient, access: str) -> httpx.Response:
    return await client.post("/Security/Whoami", json={}, headers=_bearer(access))


def _assert_401_envelope(response: httpx.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert list(body) == ENVELOPE_KEYS and body["success"] is False and body["Message"] == "Not authenticated"


async def _revoke(client: httpx.AsyncClient, value: str, **extra: str) -> httpx.Response:
    return await client.post(f"/OAuth2/Revoke/{APP}", data={"token": value, **extra}, headers=basic())


async def test_refresh_with_rotation_gives_a_new_refresh_token_and_spends_the_old(
    client: httpx.AsyncClient, sim: object
) -> None:
    first = await login_tokens(client)
    response = await refresh(client, first["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["access_token", "token_type", "expires_in", "refresh_token", "scope"]
    assert body["refresh_token"] != first["refresh_token"] and body["scope"] == "openid profile"
    assert (await _whoami(client, body["access_token"])).status_code == 200
    assert (await _whoami(client, first["access_token"])).status_code == 200  # not revoked by a refresh
    old = await refresh(client, first["refresh_token"])
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert (await refresh(client, body["refresh_token"])).status_code == 200


async def test_refresh_without_rotation_keeps_the_refresh_token(
    client: httpx.AsyncClient, sim: object
) -> None:
    await client.post(f"/_sim/oauth/apps/{APP}", json={"rotate_refresh_tokens": False})
    first = await login_tokens(client)
    for _ in range(2):
        response = await refresh(client, first["refresh_token"])
        assert response.status_code == 200
        assert "refresh_token" not in response.json()


async def test_no_refresh_token_when_the_app_issues_none(client: httpx.AsyncClient, sim: object) -> None:
    await client.post(f"/_sim/oauth/apps/{APP}", json={"issue_refresh_tokens": False})
    body = await login_tokens(client)
    assert "refresh_token" not in body


async def test_refresh_may_narrow_the_scope_but_not_widen_it(client: httpx.AsyncClient, sim: object) -> None:
    first = await login_tokens(client, scope="openid profile whoami")
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "scope": "all"}
    wider = await token(client, data)
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrow = await token(client, {**data, "scope": "whoami"})
    assert narrow.json()["scope"] == "whoami"
    apps = await client.post("/UPRest/GetUPData", json={}, headers=_bearer(narrow.json()["access_token"]))
    _assert_401_envelope(apps)


async def test_refresh_token_expires_on_the_simulator_clock(client: httpx.AsyncClient, sim: object) -> None:
    first = await login_tokens(client)
    await client.post("/_sim/clock/advance", json={"seconds": 86401})
    assert (await refresh(client, first["refresh_token"])).json()["error"] == "invalid_grant"


async def test_refresh_of_another_client_or_garbage_is_invalid_grant(
    client: httpx.AsyncClient, sim: object
) -> None:
    assert (await refresh(client, "garbage")).json()["error"] == "invalid_grant"
    assert (await token(client, {"grant_type": "refresh_token"})).json()["error"] == "invalid_request"


async def test_access_token_is_a_bearer_within_its_scope_only(client: httpx.AsyncClient, sim: object) -> None:
    body = await login_tokens(client, scope="openid whoami")
    access = body["access_token"]
    whoami = await _whoami(client, access)
    assert whoami.status_code == 200 and whoami.json()["Result"]["User"] == "alice@example.com"
    _assert_401_envelope(await client.post("/UPRest/GetUPData", json={}, headers=_bearer(access)))
    _assert_401_envelope(await client.post("/Sim/Echo", json={}, headers=_bearer(access)))
    _assert_401_envelope(await client.post("/Security/Logout", json={}, headers=_bearer(access)))
    assert (await _whoami(client, access)).status_code == 200  # the refusals spent nothing


async def test_profile_scope_of_the_demo_app_reaches_the_apps_and_echo(
    client: httpx.AsyncClient, sim: object
) -> None:
    access = (await login_tokens(client))["access_token"]
    apps = await client.post("/UPRest/GetUPData", json={}, headers=_bearer(access))
    assert apps.status_code == 200 and len(apps.json()["Result"]["Apps"]) == 10
    echo = await client.get("/Sim/Echo", headers=_bearer(access))
    assert echo.status_code == 200
    _assert_401_envelope(await client.post("/Security/Logout", json={}, headers=_bearer(access)))


async def test_a_scope_without_rest_apis_gives_a_token_for_nothing(
    client: httpx.AsyncClient, sim: object
) -> None:
    access = (await login_tokens(client, scope="openid"))["access_token"]
    _assert_401_envelope(await _whoami(client, access))
    assert (await client.get(f"/OAuth2/UserInfo/{APP}", headers=_bearer(access))).status_code == 200


async def test_expired_access_token_is_refused(client: httpx.AsyncClient, sim: object) -> None:
    access = (await login_tokens(client))["access_token"]
    assert (await client.post("/_sim/tokens/expire", json={"token": access})).json() == {"expired": 1}
    _assert_401_envelope(await _whoami(client, access))
    assert (await client.get(f"/OAuth2/UserInfo/{APP}", headers=_bearer(access))).status_code == 401


async def test_access_token_expires_after_its_lifetime(client: httpx.AsyncClient, sim: object) -> None:
    access = (await login_tokens(client))["access_token"]
    await client.post("/_sim/clock/advance", json={"seconds": 299})
    assert (await _whoami(client, access)).status_code == 200
    await client.post("/_sim/clock/advance", json={"seconds": 2})
    _assert_401_envelope(await _whoami(client, access))


async def test_revoking_the_refresh_token_kills_the_grant(client: httpx.AsyncClient, sim: object) -> None:
    body = await login_tokens(client)
    response = await _revoke(client, body["refresh_token"], token_type_hint="refresh_token")
    assert response.status_code == 200
    assert (await refresh(client, body["refresh_token"])).json()["error"] == "invalid_grant"
    _assert_401_envelope(await _whoami(client, body["access_token"]))


async def test_revoking_the_access_token_leaves_the_refresh_token(
    client: httpx.AsyncClient, sim: object
) -> None:
    body = await login_tokens(client)
    assert (await _revoke(client, body["access_token"])).status_code == 200
    _assert_401_envelope(await _whoami(client, body["access_token"]))
    assert (await refresh(client, body["refresh_token"])).status_code == 200


async def test_revoke_answers_200_for_unknown_tokens_but_needs_the_client(
    client: httpx.AsyncClient, sim: object
) -> None:
    assert (await _revoke(client, "never-issued")).status_code == 200
    no_client = await client.post(f"/OAuth2/Revoke/{APP}", data={"token": "x"})
    assert no_client.status_code == 401 and no_client.json()["error"] == "invalid_client"
    post = await client.post(
        f"/OAuth2/Revoke/{APP}",
        data={"token": "x", "client_id": CLIENT_ID, "client_secret": "bff-demo-secret-1"},
    )
    assert post.status_code == 200
    missing = await client.post(f"/OAuth2/Revoke/{APP}", data={}, headers=basic())
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_userinfo(client: httpx.AsyncClient, sim: object, method: str) -> None:
    body = await login_tokens(client, "email@example.com")
    response = await client.request(method, f"/OAuth2/UserInfo/{APP}", headers=_bearer(body["access_token"]))
    assert response.status_code == 200
    info = response.json()
    assert info["preferred_username"] == info["unique_name"] == "email@example.com"
    assert info["name"] == "Erin Email" and info["email"] == "email@example.com" and info["sub"]


async def test_userinfo_refuses_other_bearers(client: httpx.AsyncClient, sim: object) -> None:
    aspxauth = cookie_value(await login(client), ".ASPXAUTH")
    for headers in ({}, _bearer("garbage"), _bearer(aspxauth)):
        response = await client.get(f"/OAuth2/UserInfo/{APP}", headers=headers)
        assert response.status_code == 401 and response.json() == {"error": "invalid_token"}
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_jwks_and_discovery(client: httpx.AsyncClient, sim: ServerThread) -> None:
    jwks = (await client.get(f"/OAuth2/Keys/{APP}")).json()
    assert len(jwks["keys"]) == 1
    key = jwks["keys"][0]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
    assert "d" not in key and "p" not in key
    meta = (await client.get(f"/{APP}/.well-known/openid-configuration")).json()
    base = sim.url
    assert meta["issuer"] == f"{base}/{APP}/"
    assert meta["authorization_endpoint"] == f"{base}/OAuth2/Authorize/{APP}"
    assert meta["token_endpoint"] == f"{base}/OAuth2/Token/{APP}"
    assert meta["jwks_uri"] == f"{base}/OAuth2/Keys/{APP}"
    assert meta["userinfo_endpoint"] == f"{base}/OAuth2/UserInfo/{APP}"
    assert meta["revocation_endpoint"] == f"{base}/OAuth2/Revoke/{APP}"
    assert meta["end_session_endpoint"] == f"{base}/OAuth2/EndSession/{APP}"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]


async def test_client_credentials(client: httpx.AsyncClient, sim: object) -> None:
    response = await token(client, {"grant_type": "client_credentials", "scope": "whoami"}, auth="post")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "refresh_token" not in body and "id_token" not in body and body["scope"] == "whoami"
    whoami = await _whoami(client, body["access_token"])
    assert whoami.json()["Result"]["User"] == CLIENT_ID
    bad = await token(client, {"grant_type": "client_credentials", "scope": "openid"})
    assert bad.json()["error"] == "invalid_scope"
    await client.post(f"/_sim/oauth/apps/{APP}", json={"client_credentials": False})
    refused = await token(client, {"grant_type": "client_credentials"})
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


async def test_end_session_clears_the_tenant_session_and_redirects(
    client: httpx.AsyncClient, sim: object
) -> None:
    await authorized(client)
    session = client.cookies.get("SimOAuthSSO", path="/OAuth2/")
    assert session
    target = "http://127.0.0.1:8000/"
    response = await client.get(
        f"/OAuth2/EndSession/{APP}", params={"post_logout_redirect_uri": target, "state": "bye"}
    )
    assert response.status_code == 302 and response.headers["location"] == target + "?state=bye"
    assert "SimOAuthSSO=" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    # Even a browser that kept the cookie must sign in again.
    async with httpx.AsyncClient(base_url=str(client.base_url)) as other:
        page = await other.get(
            f"/OAuth2/Authorize/{APP}",
            params=authorize_params(pkce()[1]),
            headers={"Cookie": f"SimOAuthSSO={session}"},
        )
    assert page.status_code == 200 and "x-sim-txn" in page.headers


async def test_end_session_refuses_foreign_redirects(client: httpx.AsyncClient, sim: object) -> None:
    evil = await client.get(
        f"/OAuth2/EndSession/{APP}", params={"post_logout_redirect_uri": "https://evil.example/"}
    )
    assert evil.status_code == 400 and "location" not in evil.headers
    plain = await client.get(f"/OAuth2/EndSession/{APP}")
    assert plain.status_code == 200 and "signed out" in plain.text


async def test_oauth_calls_are_in_the_call_log(client: httpx.AsyncClient, sim: object) -> None:
    await client.delete("/_sim/calls")
    got = await authorized(client)
    await token(
        client,
        {
            "grant_type": "authorization_code",
            "code": got.code,
            "redirect_uri": REDIRECT,
            "code_verifier": "x" * 43,
        },
    )
    calls = (await client.get("/_sim/calls")).json()
    assert [c["path"] for c in calls] == [
        f"/OAuth2/Authorize/{APP}",
        f"/OAuth2/SignIn/{APP}",
        f"/OAuth2/Token/{APP}",
    ]
    assert "grant_type=authorization_code" in calls[-1]["body"]
