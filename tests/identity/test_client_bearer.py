"""Calls made with the token: whoami, logout, expiry."""

from __future__ import annotations

import json

import pytest

from app.errors import TenantProtocolError, TokenRejected
from app.identity.client import TenantClient
from app.identity.envelope import is_token_rejection
from app.identity.models import LoggedIn
from tests.identity.simulated import PASSWORD, Sim, only
from tests.identity.whoami import whoami


@pytest.fixture
async def token(client: TenantClient, sim: Sim) -> str:
    started = only(await client.start("pw@example.com"))
    outcome, _ = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, LoggedIn)
    return outcome.token


async def test_whoami_under_our_names(client: TenantClient, token: str) -> None:
    me = await whoami(client, token)
    assert me["username"] == "pw@example.com"
    assert me["tenant_id"] == "ABC1234"
    assert me["id"]


async def test_logout_ends_the_token(client: TenantClient, sim: Sim, token: str) -> None:
    assert await client.logout(token) is True
    with pytest.raises(TokenRejected):
        await whoami(client, token)
    # A second logout finds the token already over; that is not an error for the caller.
    assert await client.logout(token) is False
    call = sim.calls("/Security/Logout")[0]
    assert call["headers"]["authorization"] == f"Bearer {token}"
    assert call["json"] == {}


async def test_an_expired_token_is_rejected(client: TenantClient, sim: Sim, token: str) -> None:
    sim.expire(token)
    with pytest.raises(TokenRejected):
        await whoami(client, token)


async def test_an_unknown_token_is_rejected(client: TenantClient) -> None:
    with pytest.raises(TokenRejected):
        await whoami(client, "not-a-token")


async def test_a_403_is_a_rejected_token(client: TenantClient, sim: Sim, token: str) -> None:
    sim.fault(path="/Security/Whoami", status=403, body="<html>Forbidden</html>")
    with pytest.raises(TokenRejected):
        await whoami(client, token)


async def test_a_200_failure_without_result_is_a_rejected_token(
    client: TenantClient, sim: Sim, token: str
) -> None:
    body = json.dumps({"success": False, "Result": None, "Message": "Not authenticated"})
    sim.fault(path="/Security/Whoami", status=200, body=body, content_type="application/json")
    with pytest.raises(TokenRejected):
        await whoami(client, token)


async def test_a_200_failure_with_a_result_is_a_protocol_error(
    client: TenantClient, sim: Sim, token: str
) -> None:
    body = json.dumps({"success": False, "Result": {"Summary": "Failure"}})
    sim.fault(path="/Security/Whoami", status=200, body=body, content_type="application/json")
    with pytest.raises(TenantProtocolError):
        await whoami(client, token)


def test_a_rejection_body_is_recognised_for_the_proxy() -> None:
    assert is_token_rejection(b'{"success": false, "Result": null, "Message": "Not authenticated"}')
    assert not is_token_rejection(b'{"success": true, "Result": {"Apps": []}}')
