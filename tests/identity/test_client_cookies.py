"""The shared client keeps no cookies: each login's tenant cookies travel only with that login's calls."""

from __future__ import annotations

import pytest

from app.errors import LoginFailed
from app.identity.client import TenantClient
from app.identity.models import LoggedIn
from tests.identity.simulated import PASSWORD, Sim, mechanism_named, only
from tests.identity.whoami import whoami


def _cookie_headers(sim: Sim, path: str) -> list[str | None]:
    return [call["headers"].get("cookie") for call in sim.calls(path)]


async def test_two_interleaved_logins_never_see_each_others_cookies(client: TenantClient, sim: Sim) -> None:
    first = only(await client.start("email@example.com"))
    second = only(await client.start("sms@example.com"))
    lb_first, lb_second = first.context.cookies["SimLB"], second.context.cookies["SimLB"]
    assert lb_first != lb_second

    # Interleave every step of the two logins on the one shared client.
    _, ctx1 = await client.answer(first.context, first.package.challenges[0].mechanisms[0].id, PASSWORD)
    _, ctx2 = await client.answer(second.context, second.package.challenges[0].mechanisms[0].id, PASSWORD)
    email, sms = mechanism_named(first.package, 1, "EMAIL"), mechanism_named(second.package, 1, "SMS")
    _, ctx1 = await client.start_oob(ctx1, email.id)
    _, ctx2 = await client.start_oob(ctx2, sms.id)
    done1, ctx1 = await client.answer(ctx1, email.id, sim.code("email@example.com"))
    assert len(client._http.cookies.jar) == 0
    assert isinstance(done1, LoggedIn)
    assert "CCSID" in ctx1.cookies  # the device cookie of the first login's success ...
    done2, ctx2 = await client.answer(ctx2, sms.id, sim.code("sms@example.com"))
    assert isinstance(done2, LoggedIn)
    assert done1.token != done2.token

    # ... never rides along with the second login, and each advance carried only its own SimLB.
    advances = sim.calls("/Security/AdvanceAuthentication")
    assert [call["headers"].get("cookie") for call in advances] == [
        f"SimLB={lb_first}",
        f"SimLB={lb_second}",
    ] * 3
    assert _cookie_headers(sim, "/Security/StartAuthentication") == [None, None]
    assert len(client._http.cookies.jar) == 0
    assert (await whoami(client, done1.token))["username"] == "email@example.com"
    assert (await whoami(client, done2.token))["username"] == "sms@example.com"
    assert all("cookie" not in call["headers"] for call in sim.calls("/Security/Whoami"))


async def test_the_simulator_refuses_another_logins_cookie(client: TenantClient) -> None:
    # The control for the test above: mixed cookies would have failed it.
    first = only(await client.start("pw@example.com"))
    second = only(await client.start("pw@example.com"))
    mixed = second.context.model_copy(update={"cookies": first.context.cookies})
    with pytest.raises(LoginFailed):
        await client.answer(mixed, second.package.challenges[0].mechanisms[0].id, PASSWORD)


async def test_every_call_carries_the_native_client_headers(sim: Sim) -> None:
    client = TenantClient(sim.url(), tenant_id="ABC1234", timeout=2)
    try:
        started = only(await client.start("pw@example.com"))
        outcome, _ = await client.answer(
            started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
        )
        assert isinstance(outcome, LoggedIn)
        await whoami(client, outcome.token)
        await client.cleanup(started.context)
        await client.logout(outcome.token)
    finally:
        await client.aclose()
    calls = sim.calls()
    assert [c["path"] for c in calls] == [
        "/Security/StartAuthentication",
        "/Security/AdvanceAuthentication",
        "/Security/Whoami",
        "/Security/CleanupAuthentication",
        "/Security/Logout",
    ]
    for call in calls:
        assert call["method"] == "POST"
        assert call["headers"]["x-idap-native-client"] == "true"
        assert call["headers"]["x-centrify-native-client"] == "true"
        assert call["headers"]["content-type"] == "application/json"
    assert calls[0]["json"] == {"User": "pw@example.com", "Version": "1.0", "TenantId": "ABC1234"}
    assert calls[1]["json"] == {
        "SessionId": started.context.session_id,
        "MechanismId": started.package.challenges[0].mechanisms[0].id,
        "Action": "Answer",
        "Answer": PASSWORD,
        "TenantId": "ABC1234",
    }
