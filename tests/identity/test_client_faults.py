"""A tenant that is down, slow, or answers something else than its protocol, seen through the client."""

from __future__ import annotations

import json

import pytest

from app.errors import (
    LoginFailed,
    TenantProtocolError,
    TenantRateLimited,
    TenantTimeout,
    TenantUnavailable,
)
from app.identity.client import TenantClient
from tests.identity.simulated import PASSWORD, Sim, only
from tests.support.ports import free_port

START = "/Security/StartAuthentication"
ADVANCE = "/Security/AdvanceAuthentication"


async def test_a_path_the_tenant_does_not_know_is_a_protocol_error(sim: Sim) -> None:
    client = TenantClient(sim.url() + "/not-the-tenant", timeout=2)
    try:
        with pytest.raises(TenantProtocolError):
            await client.start("pw@example.com")
    finally:
        await client.aclose()
    (call,) = sim.calls("/not-the-tenant" + START)
    assert call["method"] == "POST"


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (404, "<!DOCTYPE html><html><body>404 - File or directory not found.</body></html>", "text/html"),
        (200, "<html><body>Please sign in</body></html>", "text/html"),
        (200, '{"success": true, "Result": {"SessionId": "s", "Challenges": [', "application/json"),
        (200, '{"success": "yes", "Result": {}}', "application/json"),
        (200, '{"success": true, "Result": {"SessionId": "s", "Challenges": "UP"}}', "application/json"),
        (
            200,
            '{"success": true, "Result": {"SessionId": 7, "Challenges": [{"Mechanisms": []}]}}',
            "application/json",
        ),
        (200, "[]", "application/json"),
    ],
)
async def test_garbage_at_start_is_a_protocol_error(
    client: TenantClient, sim: Sim, status: int, body: str, content_type: str
) -> None:
    sim.fault(path=START, status=status, body=body, content_type=content_type)
    with pytest.raises(TenantProtocolError):
        await client.start("pw@example.com")


async def test_garbage_mid_login_is_a_protocol_error(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    sim.fault(
        path=ADVANCE,
        status=200,
        body='{"success": true, "Result": {"Summary": "Huh"}}',
        content_type="application/json",
    )
    with pytest.raises(TenantProtocolError):
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)


async def test_a_login_success_without_the_token_cookie_is_a_protocol_error(
    client: TenantClient, sim: Sim
) -> None:
    started = only(await client.start("pw@example.com"))
    result = {"Summary": "LoginSuccess", "UserId": "u", "User": "pw@example.com", "Auth": "ONE-TIME"}
    sim.fault(
        path=ADVANCE,
        status=200,
        body=json.dumps({"success": True, "Result": result}),
        content_type="application/json",
    )
    with pytest.raises(TenantProtocolError):
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)


async def test_a_noncommittal_success_is_login_failed(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    result = {"Summary": "NoncommitalSuccess", "ClientMessage": "We sent you a link"}
    sim.fault(
        path=ADVANCE,
        status=200,
        body=json.dumps({"success": True, "Result": result}),
        content_type="application/json",
    )
    with pytest.raises(LoginFailed) as caught:
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    assert "We sent you a link" not in str(caught.value)


async def test_a_new_package_that_asks_to_wait_is_rate_limited(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    result = {
        "Summary": "NewPackage",
        "RetryWaitingTime": 30,
        "Challenges": [{"Mechanisms": [{"Name": "UP", "AnswerType": "Text", "MechanismId": "m"}]}],
    }
    sim.fault(
        path=ADVANCE,
        status=200,
        body=json.dumps({"success": True, "Result": result}),
        content_type="application/json",
    )
    with pytest.raises(TenantRateLimited) as caught:
        await client.answer(started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD)
    assert caught.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_unavailable(client: TenantClient, sim: Sim, status: int) -> None:
    sim.fault(path=START, status=status)
    with pytest.raises(TenantUnavailable):
        await client.start("pw@example.com")


async def test_a_429_is_rate_limited(client: TenantClient, sim: Sim) -> None:
    sim.fault(path=START, status=429, body="slow down")
    with pytest.raises(TenantRateLimited):
        await client.start("pw@example.com")


async def test_a_dropped_connection_is_unavailable(client: TenantClient, sim: Sim) -> None:
    sim.fault(path=START, drop=True)
    with pytest.raises(TenantUnavailable) as caught:
        await client.start("pw@example.com")
    assert caught.value.__cause__ is not None


async def test_nothing_listening_is_unavailable() -> None:
    client = TenantClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    try:
        with pytest.raises(TenantUnavailable):
            await client.start("pw@example.com")
    finally:
        await client.aclose()


async def test_a_slow_tenant_is_a_timeout(sim: Sim) -> None:
    client = TenantClient(sim.url(), timeout=0.3)
    sim.fault(path=START, delay=1.0)
    try:
        with pytest.raises(TenantTimeout):
            await client.start("pw@example.com")
        # The same client recovers once the tenant is quick again.
        sim.control.delete("/_sim/faults")
        assert only(await client.start("pw@example.com")).package.challenges
    finally:
        await client.aclose()


async def test_cleanup_never_raises_on_tenant_errors(client: TenantClient, sim: Sim) -> None:
    started = only(await client.start("pw@example.com"))
    sim.fault(path="/Security/CleanupAuthentication", drop=True)
    assert await client.cleanup(started.context) is False
    sim.fault(path="/Security/CleanupAuthentication", status=404, body="<html></html>")
    assert await client.cleanup(started.context) is False
