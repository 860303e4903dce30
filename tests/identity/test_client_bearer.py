"""Calls made with the token: whoami, logout, expiry, and the generic call the proxy uses."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from app.errors import TenantProtocolError, TokenRejected
from app.identity import LoggedIn, TenantClient, is_token_rejection
from tests.identity.simulated import PASSWORD, Sim, only


@pytest.fixture
async def token(client: TenantClient, sim: Sim) -> str:
    started = only(await client.start("pw@example.com"))
    outcome, _ = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, LoggedIn)
    return outcome.token


async def test_whoami_under_our_names(client: TenantClient, token: str) -> None:
    me = await client.whoami(token)
    assert me["username"] == "pw@example.com"
    assert me["tenant_id"] == "ABC1234"
    assert me["id"]


async def test_logout_ends_the_token(client: TenantClient, sim: Sim, token: str) -> None:
    assert await client.logout(token) is True
    with pytest.raises(TokenRejected):
        await client.whoami(token)
    # A second logout finds the token already over; that is not an error for the caller.
    assert await client.logout(token) is False
    call = sim.calls("/Security/Logout")[0]
    assert call["headers"]["authorization"] == f"Bearer {token}"
    assert call["json"] == {}


async def test_an_expired_token_is_rejected(client: TenantClient, sim: Sim, token: str) -> None:
    sim.expire(token)
    with pytest.raises(TokenRejected):
        await client.whoami(token)
    with pytest.raises(TokenRejected):
        await client.request(token, "POST", "/UPRest/GetUPData", content=b"{}")


async def test_an_unknown_token_is_rejected(client: TenantClient) -> None:
    with pytest.raises(TokenRejected):
        await client.whoami("not-a-token")


async def test_a_403_is_a_rejected_token(client: TenantClient, sim: Sim, token: str) -> None:
    sim.fault(path="/Security/Whoami", status=403, body="<html>Forbidden</html>")
    with pytest.raises(TokenRejected):
        await client.whoami(token)


async def test_a_200_failure_without_result_is_a_rejected_token(
    client: TenantClient, sim: Sim, token: str
) -> None:
    body = json.dumps({"success": False, "Result": None, "Message": "Not authenticated"})
    sim.fault(path="/Security/Whoami", status=200, body=body, content_type="application/json")
    with pytest.raises(TokenRejected):
        await client.whoami(token)


async def test_a_200_failure_with_a_result_is_a_protocol_error(
    client: TenantClient, sim: Sim, token: str
) -> None:
    body = json.dumps({"success": False, "Result": {"Summary": "Failure"}})
    sim.fault(path="/Security/Whoami", status=200, body=body, content_type="application/json")
    with pytest.raises(TenantProtocolError):
        await client.whoami(token)


async def test_request_streams_the_reply_with_the_bearer(client: TenantClient, sim: Sim, token: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b'{"Username":'
        yield b' "pw@example.com"}'

    response = await client.request(
        token,
        "POST",
        "/Sim/Echo",
        content=body(),
        headers={
            "Content-Type": "application/json",
            "Accept-Language": "nl",
            "Cookie": "bff=browser-session",
            "Authorization": "Basic browser",
            "X-Request-ID": "req-1",
        },
        params={"a": "1"},
    )
    try:
        assert response.status_code == 200
        assert not response.is_stream_consumed
        chunks = [chunk async for chunk in response.aiter_bytes()]
    finally:
        await response.aclose()
    echoed = json.loads(b"".join(chunks))["Result"]
    headers = echoed["headers"]
    assert echoed["body"] == '{"Username": "pw@example.com"}'
    assert echoed["query"] == "a=1"
    assert echoed["user"] == "pw@example.com"
    assert headers["authorization"] == f"Bearer {token}"
    assert headers["x-idap-native-client"] == "true"
    assert headers["x-centrify-native-client"] == "true"
    assert headers["accept-language"] == "nl"
    assert headers["x-request-id"] == "req-1"
    assert "cookie" not in headers
    # The tenant's Set-Cookie reaches the caller to filter, but never the shared client's jar.
    assert response.headers.get("set-cookie") == "SimEcho=1; Path=/"
    assert client.cookie_jar_size == 0


async def test_request_with_a_rejected_token(client: TenantClient) -> None:
    with pytest.raises(TokenRejected):
        await client.request("not-a-token", "GET", "/Sim/Echo")


async def test_request_refuses_a_path_that_is_not_absolute(client: TenantClient, token: str) -> None:
    for path in ("Sim/Echo", "//evil.example/x"):
        with pytest.raises(ValueError):
            await client.request(token, "GET", path)


def test_a_rejection_body_is_recognised_for_the_proxy() -> None:
    assert is_token_rejection(b'{"success": false, "Result": null, "Message": "Not authenticated"}')
    assert not is_token_rejection(b'{"success": true, "Result": {"Apps": []}}')
