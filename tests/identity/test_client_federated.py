"""Federated logins (OobIdPAuth) against the simulator over real HTTP: polling, the PIN, pods, failures."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.errors import LoginFailed, TenantProtocolError
from app.identity.client import TenantClient
from app.identity.models import FederatedRedirect, LoggedIn, LoginContext, Pending, TenantUser
from tests.identity.simulated import Sim
from tests.identity.whoami import whoami as whoami_of

FED = "fed@example.com"
PIN = "fedpin@example.com"


async def _start(client: TenantClient, username: str = FED) -> FederatedRedirect:
    started = await client.start(username)
    assert isinstance(started, FederatedRedirect), started
    return started


async def test_start_authentication_always_sends_oob_idp_auth(client: TenantClient, sim: Sim) -> None:
    await client.start("pw@example.com")
    await _start(client)
    assert [c["headers"].get("oobidpauth") for c in sim.calls("/Security/StartAuthentication")] == [
        "true",
        "true",
    ]


async def test_polling_finishes_with_the_token_and_the_user_from_whoami(
    client: TenantClient, sim: Sim
) -> None:
    started = await _start(client)
    assert started.pin is False and started.url.startswith(sim.url("a") + "/u/")
    outcome, ctx = await client.oob_status(started.context, FED)
    assert outcome == Pending()
    sim.idp_complete(FED)
    outcome, _ = await client.oob_status(ctx, FED)
    assert isinstance(outcome, LoggedIn)
    assert outcome.base_url == sim.url("a") and outcome.lifetime == 43200
    assert outcome.user.username == FED and outcome.user.id
    assert outcome.user.tenant == "ABC1234"
    # The status call names the IdpLoginSessionId; Whoami went out with the new bearer.
    (status,) = sim.calls("/Security/OobAuthStatus")[-1:]
    assert status["json"] == {"SessionId": started.context.session_id}
    (whoami,) = sim.calls("/Security/Whoami")
    assert whoami["headers"]["authorization"] == f"Bearer {outcome.token}"
    assert (await whoami_of(client, outcome.token))["username"] == FED


async def test_the_user_fields_of_the_result_spare_the_whoami(client: TenantClient, sim: Sim) -> None:
    started = await _start(client, "fedfields@example.com")
    sim.idp_complete("fedfields@example.com")
    outcome, _ = await client.oob_status(started.context, "FedFields@example.com")
    assert isinstance(outcome, LoggedIn)
    assert outcome.user.display_name == "Fiona Fields" and outcome.user.username == "fedfields@example.com"
    assert sim.calls("/Security/Whoami") == []


async def test_the_pin_finishes_with_the_result_token(client: TenantClient, sim: Sim) -> None:
    started = await _start(client, PIN)
    assert started.pin is True
    pin = sim.idp_complete(PIN)
    assert pin is not None
    outcome, _ = await client.oob_status(started.context, PIN)
    assert outcome == Pending()
    outcome, _ = await client.answer_pin(started.context, PIN, pin)
    assert isinstance(outcome, LoggedIn) and outcome.user.display_name == "Pia Pin"
    body = sim.calls("/Security/AdvanceAuthentication")[-1]["json"]
    assert body == {
        "SessionId": started.context.session_id,
        "MechanismId": "OOBAUTHPIN",
        "Action": "Answer",
        "Answer": pin,
    }
    # The bearer keeps working: it is the duration Token, not the one-time Auth.
    for _ in range(2):
        assert (await whoami_of(client, outcome.token))["username"] == PIN


async def test_a_wrong_pin_a_refusal_and_an_expiry_fail_the_login(client: TenantClient, sim: Sim) -> None:
    started = await _start(client, PIN)
    sim.idp_complete(PIN)
    with pytest.raises(LoginFailed):
        await client.answer_pin(started.context, PIN, "not-the-pin")

    started = await _start(client)
    sim.idp_fail(FED)
    with pytest.raises(LoginFailed):
        await client.oob_status(started.context, FED)

    started = await _start(client)
    sim._ok(sim.control.post("/_sim/clock/advance", json={"seconds": 601}))
    with pytest.raises(LoginFailed):
        await client.oob_status(started.context, FED)


async def test_the_federated_login_stays_on_its_pod(client: TenantClient, sim: Sim) -> None:
    sim.config(pod_chain=[sim.host("b")])
    started = await _start(client)
    assert started.context.base_url == sim.url("b") and started.url.startswith(sim.url("b"))
    sim.idp_complete(FED)
    outcome, _ = await client.oob_status(started.context, FED)
    assert isinstance(outcome, LoggedIn) and outcome.base_url == sim.url("b")
    hosts = [
        c["headers"]["host"]
        for c in sim.calls()
        if c["path"] in ("/Security/OobAuthStatus", "/Security/Whoami")
    ]
    assert hosts == [sim.host("b"), sim.host("b")]


async def test_garbage_from_the_status_call_is_a_protocol_error(client: TenantClient, sim: Sim) -> None:
    started = await _start(client)
    sim.fault(path="/Security/OobAuthStatus", status=200, body="<html>nope</html>")
    with pytest.raises(TenantProtocolError):
        await client.oob_status(started.context, FED)


# Edges the simulator does not produce: a fake transport stands in for such a tenant.


def _tenant(handler: Any) -> TenantClient:
    return TenantClient("https://tenant.example", transport=httpx.MockTransport(handler))


def _ok(result: Any, **headers: str) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "Result": result}, headers=headers)


CTX = LoginContext(base_url="https://pod.example", session_id="idp-sid")


async def test_without_a_result_token_the_aspxauth_cookie_is_the_bearer_never_auth() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "pod.example"
        result = {"Summary": "LoginSuccess", "User": "j@x", "UserId": "u1", "Auth": "ONE-TIME"}
        return _ok(result, **{"set-cookie": ".ASPXAUTH=DURATION; Path=/; HttpOnly"})

    tenant = _tenant(handler)
    outcome, _ = await tenant.answer_pin(CTX, "j@x", "123456")
    assert isinstance(outcome, LoggedIn) and outcome.token == "DURATION"
    await tenant.aclose()


async def test_a_pin_success_without_any_token_is_a_protocol_error() -> None:
    tenant = _tenant(
        lambda request: _ok({"Summary": "LoginSuccess", "User": "j@x", "UserId": "u1", "Auth": "A"})
    )
    with pytest.raises(TenantProtocolError):
        await tenant.answer_pin(CTX, "j@x", "123456")
    await tenant.aclose()


async def test_whoami_without_a_user_name_falls_back_to_the_typed_one() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/Security/OobAuthStatus":
            return _ok({"State": "Success", "Token": "TOK"})
        assert request.headers["authorization"] == "Bearer TOK"
        return _ok({"UserUuid": "u-9"})

    tenant = _tenant(handler)
    outcome, _ = await tenant.oob_status(CTX, "Typed@Example.com")
    assert isinstance(outcome, LoggedIn)
    assert outcome.user == TenantUser(id="u-9", username="Typed@Example.com")
    await tenant.aclose()


async def test_a_new_token_refused_at_whoami_fails_the_login() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/Security/OobAuthStatus":
            return _ok({"State": "Success", "Token": "TOK"})
        return httpx.Response(401, content=json.dumps({"success": False, "Result": None}))

    tenant = _tenant(handler)
    with pytest.raises(LoginFailed):
        await tenant.oob_status(CTX, "j@x")
    await tenant.aclose()


async def test_the_result_token_wins_over_the_cookie() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        result = {
            "Summary": "LoginSuccess",
            "User": "j@x",
            "UserId": "u1",
            "Auth": "ONE-TIME",
            "Token": "TOKEN",
        }
        return _ok(result, **{"set-cookie": ".ASPXAUTH=COOKIE; Path=/; HttpOnly"})

    tenant = _tenant(handler)
    outcome, _ = await tenant.answer_pin(CTX, "j@x", "123456")
    assert isinstance(outcome, LoggedIn) and outcome.token == "TOKEN"
    await tenant.aclose()
