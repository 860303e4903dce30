"""LoginSuccess cookies, the .ASPXAUTH duration token, the one-time Auth token, and the bearer endpoints."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.simulator.helpers import (
    ENVELOPE_KEYS,
    HEADERS,
    cookie_value,
    login,
    mechanism,
    set_cookie,
    start,
)

BEARER_PATHS = ["/Security/Whoami", "/UPRest/GetUPData", "/Sim/Echo", "/Security/Logout"]


def _bearer(token: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


async def _call(
    base: str, path: str, token: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A bearer call from a fresh client, so no cookie from the login rides along."""
    sent = {**(_bearer(token) if token else HEADERS), **(headers or {})}
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        return await c.post(path, json={}, headers=sent)


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    data = response.json()
    assert list(data) == ENVELOPE_KEYS
    assert data["success"] is False and data["Result"] is None and data["Message"] == "Not authenticated"


async def test_login_success_result_fields(client: httpx.AsyncClient, sim: object) -> None:
    response = await login(client)
    result = response.json()["Result"]
    assert set(result) == {
        "AuthLevel",
        "DisplayName",
        "Auth",
        "UserId",
        "EmailAddress",
        "UserDirectory",
        "PodFqdn",
        "User",
        "CustomerID",
        "SystemID",
        "SourceDsType",
        "Summary",
    }
    assert result["DisplayName"] == "Alice Password"
    assert result["EmailAddress"] == "alice@example.com"
    assert result["PodFqdn"] == client.base_url.netloc.decode()


async def test_login_success_sets_aspxauth_and_ccsid(client: httpx.AsyncClient) -> None:
    response = await login(client)
    aspxauth = set_cookie(response, ".ASPXAUTH")
    assert "Path=/" in aspxauth and "HttpOnly" in aspxauth and "Secure" not in aspxauth
    assert "Max-Age" not in aspxauth
    assert len(cookie_value(response, ".ASPXAUTH")) >= 64
    assert cookie_value(response, "CCSID")
    assert cookie_value(response, ".ASPXAUTH") != response.json()["Result"]["Auth"]


async def test_persistent_login_gives_the_cookie_a_lifetime(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    up = mechanism(package, 0, "UP")["MechanismId"]
    body = {
        "SessionId": package["Result"]["SessionId"],
        "MechanismId": up,
        "Action": "Answer",
        "Answer": "alice-pass-1",
        "PersistentLogin": True,
    }
    response = await client.post("/Security/AdvanceAuthentication", json=body, headers=HEADERS)
    assert "Max-Age=43200" in set_cookie(response, ".ASPXAUTH")


async def test_duration_token_serves_many_calls(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    base = str(client.base_url)
    for _ in range(3):
        response = await _call(base, "/Security/Whoami", token)
        assert response.status_code == 200
        assert response.json()["Result"]["User"] == "alice@example.com"


async def test_one_time_token_serves_exactly_one_call(client: httpx.AsyncClient) -> None:
    once = (await login(client)).json()["Result"]["Auth"]
    base = str(client.base_url)
    assert (await _call(base, "/Security/Whoami", once)).status_code == 200
    _assert_401(await _call(base, "/Security/Whoami", once))


async def test_whoami(client: httpx.AsyncClient, sim_app: object) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    result = (await _call(str(client.base_url), "/Security/Whoami", token)).json()["Result"]
    user = sim_app.state.sim.user("alice@example.com")  # type: ignore[attr-defined]
    assert result == {"User": "alice@example.com", "UserUuid": user.uuid, "TenantId": "ABC1234"}


async def test_getupdata_default_apps(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    response = await _call(str(client.base_url), "/UPRest/GetUPData", token)
    apps = response.json()["Result"]["Apps"]
    assert len(apps) == 10
    assert all({"AppKey", "Name", "DisplayName", "Url", "Icon", "WebAppType"} <= set(app) for app in apps)
    assert apps[0]["Name"] == "Salesforce"


async def test_getupdata_user_apps(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client, "apps@example.com"), ".ASPXAUTH")
    apps = (await _call(str(client.base_url), "/UPRest/GetUPData", token)).json()["Result"]["Apps"]
    assert [a["Name"] for a in apps] == ["Intranet"]


async def test_aspxauth_cookie_is_accepted_as_bearer(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    response = await _call(str(client.base_url), "/Security/Whoami", headers={"Cookie": f".ASPXAUTH={token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("path", BEARER_PATHS)
async def test_no_or_unknown_bearer_is_401(client: httpx.AsyncClient, path: str) -> None:
    base = str(client.base_url)
    _assert_401(await _call(base, path))
    _assert_401(await _call(base, path, "not-a-token"))
    _assert_401(await _call(base, path, headers={"Authorization": "Basic dXNlcjpwYXNz"}))


async def test_token_expires_after_its_lifetime_on_the_simulator_clock(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/config", json={"token_lifetime": 100})
    token = cookie_value(await login(client), ".ASPXAUTH")
    base = str(client.base_url)
    await client.post("/_sim/clock/advance", json={"seconds": 99})
    assert (await _call(base, "/Security/Whoami", token)).status_code == 200
    await client.post("/_sim/clock/advance", json={"seconds": 2})
    _assert_401(await _call(base, "/Security/Whoami", token))


async def test_expire_one_token_now(client: httpx.AsyncClient) -> None:
    first = cookie_value(await login(client), ".ASPXAUTH")
    second = cookie_value(await login(client), ".ASPXAUTH")
    response = await client.post("/_sim/tokens/expire", json={"token": first})
    assert response.json() == {"expired": 1}
    _assert_401(await _call(str(client.base_url), "/Security/Whoami", first))
    assert (await _call(str(client.base_url), "/Security/Whoami", second)).status_code == 200


async def test_expire_every_token_of_a_user(client: httpx.AsyncClient) -> None:
    alice = cookie_value(await login(client), ".ASPXAUTH")
    other = cookie_value(await login(client, "apps@example.com"), ".ASPXAUTH")
    response = await client.post("/_sim/tokens/expire", json={"username": "Alice@example.com"})
    assert response.json() == {"expired": 2}  # the .ASPXAUTH and the one-time Auth of the one login
    _assert_401(await _call(str(client.base_url), "/Security/Whoami", alice))
    assert (await _call(str(client.base_url), "/Security/Whoami", other)).status_code == 200
    assert (await client.post("/_sim/tokens/expire", json={"token": "nope"})).status_code == 404


async def test_logout_ends_the_token_and_only_that_login(client: httpx.AsyncClient) -> None:
    response = await login(client)
    token, once = cookie_value(response, ".ASPXAUTH"), response.json()["Result"]["Auth"]
    other = cookie_value(await login(client), ".ASPXAUTH")
    base = str(client.base_url)
    out = await _call(base, "/Security/Logout", token)
    assert out.status_code == 200 and out.json()["success"] is True
    _assert_401(await _call(base, "/Security/Whoami", token))
    _assert_401(await _call(base, "/Security/Whoami", once))
    _assert_401(await _call(base, "/Security/Logout", token))
    assert (await _call(base, "/Security/Whoami", other)).status_code == 200


async def test_echo_shows_what_arrived_and_sets_a_cookie(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10) as c:
        response = await c.post(
            "/Sim/Echo?a=1&b=two%20words",
            content=b'{"hello": "world"}',
            headers={**_bearer(token), "X-Custom": "yes", "Content-Type": "application/json"},
        )
    assert response.status_code == 200
    assert response.headers.get_list("set-cookie") == ["SimEcho=1; Path=/"]
    result = response.json()["Result"]
    assert json.loads(result["body"]) == {"hello": "world"}
    assert result["query"] == "a=1&b=two%20words"
    assert result["headers"]["x-custom"] == "yes"
    assert result["headers"]["authorization"] == f"Bearer {token}"
    assert result["method"] == "POST"


async def test_echo_with_a_spent_one_time_token_is_401(client: httpx.AsyncClient) -> None:
    once = (await login(client)).json()["Result"]["Auth"]
    base = str(client.base_url)
    assert (await _call(base, "/Sim/Echo", once)).status_code == 200
    _assert_401(await _call(base, "/Sim/Echo", once))


async def test_tokens_do_not_survive_reset(client: httpx.AsyncClient) -> None:
    token = cookie_value(await login(client), ".ASPXAUTH")
    await client.post("/_sim/reset")
    _assert_401(await _call(str(client.base_url), "/Security/Whoami", token))
