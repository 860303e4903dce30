"""The /_sim/oauth/ controls: key rotation, grant counts, spoiled id_tokens, injected token errors, apps."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.simulator.oauth_helpers import (
    APP,
    CLIENT_ID,
    authorize_params,
    authorized,
    basic,
    exchange,
    login_tokens,
    pkce,
    refresh,
)
from tests.support.asgi_server import ServerThread


async def _jwks(client: httpx.AsyncClient) -> KeySet:
    return KeySet.import_key_set((await client.get(f"/OAuth2/Keys/{APP}")).json())


async def _kids(client: httpx.AsyncClient) -> list[str]:
    return [k["kid"] for k in (await client.get(f"/OAuth2/Keys/{APP}")).json()["keys"]]


async def test_rotation_keeps_the_old_key_by_default(client: httpx.AsyncClient, sim: object) -> None:
    old_token = (await login_tokens(client))["id_token"]
    (old_kid,) = await _kids(client)
    rotated = (await client.post(f"/_sim/oauth/{APP}/keys/rotate", json={})).json()
    assert rotated["kid"] != old_kid and rotated["kids"] == [old_kid, rotated["kid"]]
    new_token = (await login_tokens(client))["id_token"]
    keys = await _jwks(client)
    assert jwt.decode(new_token, keys).header["kid"] == rotated["kid"]
    assert jwt.decode(old_token, keys).header["kid"] == old_kid


async def test_rotation_can_drop_the_old_key_now(client: httpx.AsyncClient, sim: object) -> None:
    old_token = (await login_tokens(client))["id_token"]
    rotated = (await client.post(f"/_sim/oauth/{APP}/keys/rotate", json={"keep_old": False})).json()
    assert await _kids(client) == [rotated["kid"]]
    with pytest.raises(JoseError):
        jwt.decode(old_token, await _jwks(client))


async def test_rotation_can_keep_the_old_key_for_a_while(client: httpx.AsyncClient, sim: object) -> None:
    (old_kid,) = await _kids(client)
    rotated = (await client.post(f"/_sim/oauth/{APP}/keys/rotate", json={"keep_old_seconds": 30})).json()
    assert await _kids(client) == [old_kid, rotated["kid"]]
    await client.post("/_sim/clock/advance", json={"seconds": 31})
    assert await _kids(client) == [rotated["kid"]]


async def test_reset_puts_the_first_key_back(client: httpx.AsyncClient, sim: object) -> None:
    before = await _kids(client)
    await client.post(f"/_sim/oauth/{APP}/keys/rotate", json={"keep_old": False})
    await client.post("/_sim/reset")
    assert await _kids(client) == before


async def test_grant_counts_show_exactly_one_refresh_under_concurrency(
    client: httpx.AsyncClient, sim: ServerThread
) -> None:
    body = await login_tokens(client)

    async def one() -> int:
        async with httpx.AsyncClient(base_url=sim.url, timeout=10) as c:
            return (await refresh(c, body["refresh_token"])).status_code

    statuses = await asyncio.gather(*(one() for _ in range(16)))
    assert sorted(statuses) == [200] + [400] * 15  # rotation: the first one spends the token
    counts = (await client.get(f"/_sim/oauth/{APP}/grants")).json()
    assert counts["requests"] == {"authorization_code": 1, "refresh_token": 16}
    assert counts["granted"] == {"authorization_code": 1, "refresh_token": 1, "client_credentials": 0}
    await client.delete(f"/_sim/oauth/{APP}/grants")
    cleared = (await client.get(f"/_sim/oauth/{APP}/grants")).json()
    assert cleared["requests"] == {} and cleared["granted"]["refresh_token"] == 0


async def test_revocations_are_counted(client: httpx.AsyncClient, sim: object) -> None:
    await client.post(f"/OAuth2/Revoke/{APP}", data={"token": "x"}, headers=basic())
    assert (await client.get(f"/_sim/oauth/{APP}/grants")).json()["revocations"] == 1


async def _id_token_after(client: httpx.AsyncClient, kind: str) -> str:
    response = await client.post(f"/_sim/oauth/{APP}/tamper", json={"id_token": kind})
    assert response.status_code == 200
    token: str = (await login_tokens(client))["id_token"]
    return token


@pytest.mark.parametrize("kind", ["wrong_key", "unknown_kid", "alg_none"])
async def test_spoiled_signatures_fail_validation(client: httpx.AsyncClient, sim: object, kind: str) -> None:
    spoiled = await _id_token_after(client, kind)
    with pytest.raises(JoseError):
        jwt.decode(spoiled, await _jwks(client), algorithms=["RS256"])
    good = (await login_tokens(client))["id_token"]  # one time only
    jwt.decode(good, await _jwks(client), algorithms=["RS256"])


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("wrong_iss", lambda c, s: not c["iss"].startswith(s)),
        ("wrong_aud", lambda c, s: c["aud"] != CLIENT_ID),
        ("expired", lambda c, s: c["exp"] < time.time() - 60),
        ("wrong_nonce", lambda c, s: c["nonce"].startswith("nn-") is False),
        ("no_nonce", lambda c, s: "nonce" not in c),
    ],
)
async def test_spoiled_claims_are_well_signed(
    client: httpx.AsyncClient, sim: ServerThread, kind: str, check: object
) -> None:
    spoiled = await _id_token_after(client, kind)
    claims = jwt.decode(spoiled, await _jwks(client), algorithms=["RS256"]).claims
    assert callable(check) and check(claims, sim.url)


async def test_tamper_times_and_clear(client: httpx.AsyncClient, sim: object) -> None:
    queued = await client.post(f"/_sim/oauth/{APP}/tamper", json={"id_token": "wrong_aud", "times": 2})
    assert queued.json() == {"queued": ["wrong_aud", "wrong_aud"]}
    await client.delete(f"/_sim/oauth/{APP}/tamper")
    claims = jwt.decode((await login_tokens(client))["id_token"], await _jwks(client)).claims
    assert claims["aud"] == CLIENT_ID
    bad = await client.post(f"/_sim/oauth/{APP}/tamper", json={"id_token": "nope"})
    assert bad.status_code == 400


async def test_fail_refuses_the_next_token_call_of_a_grant_type(
    client: httpx.AsyncClient, sim: object
) -> None:
    body = await login_tokens(client)
    queued = await client.post(f"/_sim/oauth/{APP}/fail", json={"grant_type": "refresh_token"})
    assert queued.json() == {"queued": 1}
    refused = await refresh(client, body["refresh_token"])
    assert refused.status_code == 400 and refused.json() == {"error": "invalid_grant"}
    assert (await refresh(client, body["refresh_token"])).status_code == 200  # the token was not spent


async def test_fail_with_another_status_and_error(client: httpx.AsyncClient, sim: object) -> None:
    await client.post(
        f"/_sim/oauth/{APP}/fail", json={"error": "temporarily_unavailable", "status": 503, "times": 2}
    )
    got = await authorized(client)
    for _ in range(2):
        response = await exchange(client, got)
        assert response.status_code == 503 and response.json()["error"] == "temporarily_unavailable"
    assert (await exchange(client, got)).status_code == 200
    assert (await client.post(f"/_sim/oauth/{APP}/fail", json={"status": 200})).status_code == 400


async def test_expire_a_refresh_token(client: httpx.AsyncClient, sim: object) -> None:
    body = await login_tokens(client)
    expired = await client.post("/_sim/oauth/tokens/expire", json={"token": body["refresh_token"]})
    assert expired.json() == {"expired": 1}
    assert (await refresh(client, body["refresh_token"])).json()["error"] == "invalid_grant"
    by_user = await client.post("/_sim/oauth/tokens/expire", json={"username": "alice@example.com"})
    assert by_user.json() == {"expired": 2}
    none = await client.post("/_sim/oauth/tokens/expire", json={"token": "nope"})
    assert none.status_code == 404


async def test_add_an_app_and_change_it(client: httpx.AsyncClient, sim: object) -> None:
    app = {
        "app_id": "other",
        "client_id": "other-client",
        "client_secret": "s3cret",
        "redirect_uris": ["https://bff.example/auth/oauth/callback"],
        "scopes": {"apps": ["UPRest/GetUPData"]},
    }
    added = await client.post("/_sim/oauth/apps", json=app)
    assert added.status_code == 200 and "client_secret" not in added.json()
    listed = (await client.get("/_sim/oauth/apps")).json()
    assert [a["app_id"] for a in listed] == [APP, "other"]
    page = await client.get(
        "/OAuth2/Authorize/other",
        params=authorize_params(
            pkce()[1], client_id="other-client", redirect_uri=app["redirect_uris"][0], scope="apps"
        ),
    )
    assert page.status_code == 200
    changed = await client.post("/_sim/oauth/apps/other", json={"access_token_lifetime": 60})
    assert changed.json()["access_token_lifetime"] == 60 and changed.json()["client_id"] == "other-client"
    wrong = await client.post("/_sim/oauth/apps/other", json={"redirect_uris": ["not a uri"]})
    assert wrong.status_code == 400 and "redirect_uris" in wrong.json()["error"]
    assert (await client.post("/_sim/oauth/apps/nope", json={})).status_code == 404
    await client.post("/_sim/reset")
    assert [a["app_id"] for a in (await client.get("/_sim/oauth/apps")).json()] == [APP]


async def test_state_summary(client: httpx.AsyncClient, sim: object) -> None:
    await login_tokens(client)
    summary = (await client.get("/_sim/oauth/state")).json()
    assert summary["apps"] == [APP] and summary["grants_live"] == 1 and summary["refresh_live"] == 1
    assert summary["sso_sessions"] == 1
