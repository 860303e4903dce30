"""What ends a SessionId: out-of-order answers, unknown ids, failures, cleanup, another login's SimLB."""

from __future__ import annotations

import httpx

from tests.simulator.helpers import HEADERS, advance, assert_failure, cookie_value, mechanism, start


async def test_answering_the_second_challenge_first_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "sq@example.com")
    sid = package["Result"]["SessionId"]
    assert_failure(await advance(client, sid, mechanism(package, 1, "SQ")["MechanismId"], "Answer", "Rex"))


async def test_answering_a_finished_challenge_again_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "sq@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    assert (await advance(client, sid, up, "Answer", "sq-pass-1"))["Result"][
        "Summary"
    ] == "StartNextChallenge"
    assert_failure(await advance(client, sid, up, "Answer", "sq-pass-1"))


async def test_unknown_mechanism_id_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    assert_failure(await advance(client, package["Result"]["SessionId"], "not-a-mechanism", "Answer", "x"))


async def test_mechanism_id_of_another_login_fails(client: httpx.AsyncClient) -> None:
    first = await start(client, "alice@example.com")
    second = await start(client, "alice@example.com")
    other = mechanism(second, 0, "UP")["MechanismId"]
    assert_failure(await advance(client, first["Result"]["SessionId"], other, "Answer", "alice-pass-1"))


async def test_unknown_action_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    mid = mechanism(package, 0, "UP")["MechanismId"]
    assert_failure(await advance(client, package["Result"]["SessionId"], mid, "ForgotPassword"))


async def test_a_failure_ends_the_session(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    assert_failure(await advance(client, sid, up, "Answer", "wrong"))
    assert_failure(await advance(client, sid, up, "Answer", "alice-pass-1"))


async def test_a_success_ends_the_session(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    assert (await advance(client, sid, up, "Answer", "alice-pass-1"))["Result"]["Summary"] == "LoginSuccess"
    assert_failure(await advance(client, sid, up, "Answer", "alice-pass-1"))


async def test_poll_before_startoob_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "phone@example.com")
    sid = package["Result"]["SessionId"]
    await advance(client, sid, mechanism(package, 0, "UP")["MechanismId"], "Answer", "phone-pass-1")
    assert_failure(await advance(client, sid, mechanism(package, 1, "PF")["MechanismId"], "Poll"))


async def test_startoob_on_a_text_mechanism_fails(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    sid = package["Result"]["SessionId"]
    assert_failure(await advance(client, sid, mechanism(package, 0, "UP")["MechanismId"], "StartOOB"))


async def test_approval_is_needed_again_for_the_next_login(client: httpx.AsyncClient) -> None:
    package = await start(client, "qr@example.com")
    sid, mid = package["Result"]["SessionId"], mechanism(package, 0, "QR")["MechanismId"]
    await client.post("/_sim/oob/qr@example.com/approve")
    assert (await advance(client, sid, mid, "Poll"))["Result"]["Summary"] == "LoginSuccess"
    package = await start(client, "qr@example.com")
    sid, mid = package["Result"]["SessionId"], mechanism(package, 0, "QR")["MechanismId"]
    assert (await advance(client, sid, mid, "Poll"))["Result"] == {"Summary": "OobPending"}


async def test_cleanup_forgets_the_session(client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    response = await client.post("/Security/CleanupAuthentication", json={"SessionId": sid}, headers=HEADERS)
    assert response.status_code == 200 and response.json()["success"] is True
    assert_failure(await advance(client, sid, up, "Answer", "alice-pass-1"))
    # Cleaning up an unknown session is not an error either.
    again = await client.post("/Security/CleanupAuthentication", json={"SessionId": sid}, headers=HEADERS)
    assert again.json()["success"] is True


async def test_missing_simlb_cookie_is_tolerated(sim: object, client: httpx.AsyncClient) -> None:
    package = await start(client, "alice@example.com")
    client.cookies.clear()
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    assert (await advance(client, sid, up, "Answer", "alice-pass-1"))["Result"]["Summary"] == "LoginSuccess"


async def _start_raw(base: str, user: str) -> tuple[httpx.Response, dict]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        response = await c.post("/Security/StartAuthentication", json={"User": user}, headers=HEADERS)
    return response, response.json()


async def test_simlb_cookie_of_another_login_fails(client: httpx.AsyncClient) -> None:
    base = str(client.base_url)
    alice_response, alice = await _start_raw(base, "alice@example.com")
    bob_response, _ = await _start_raw(base, "email@example.com")
    sid, up = alice["Result"]["SessionId"], mechanism(alice, 0, "UP")["MechanismId"]
    body = {"SessionId": sid, "MechanismId": up, "Action": "Answer", "Answer": "alice-pass-1"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        mixed = {**HEADERS, "Cookie": f"SimLB={cookie_value(bob_response, 'SimLB')}"}
        response = await c.post("/Security/AdvanceAuthentication", json=body, headers=mixed)
        assert_failure(response.json())


async def test_own_simlb_cookie_is_accepted(client: httpx.AsyncClient) -> None:
    response, alice = await _start_raw(str(client.base_url), "alice@example.com")
    sid, up = alice["Result"]["SessionId"], mechanism(alice, 0, "UP")["MechanismId"]
    body = {"SessionId": sid, "MechanismId": up, "Action": "Answer", "Answer": "alice-pass-1"}
    own = {**HEADERS, "Cookie": f"SimLB={cookie_value(response, 'SimLB')}"}
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10) as c:
        reply = await c.post("/Security/AdvanceAuthentication", json=body, headers=own)
    assert reply.json()["Result"]["Summary"] == "LoginSuccess"


async def test_a_shared_cookie_jar_is_caught(client: httpx.AsyncClient) -> None:
    # One httpx client for two logins keeps both SimLB values (the last one wins in its jar): the bug the
    # BFF's cookie-less tenant client must not have.
    alice = await start(client, "alice@example.com")
    await start(client, "email@example.com")
    sid, up = alice["Result"]["SessionId"], mechanism(alice, 0, "UP")["MechanismId"]
    assert_failure(await advance(client, sid, up, "Answer", "alice-pass-1"))


async def test_two_simlb_cookies_in_one_request_fail(client: httpx.AsyncClient) -> None:
    alice_response, alice = await _start_raw(str(client.base_url), "alice@example.com")
    bob_response, _ = await _start_raw(str(client.base_url), "email@example.com")
    sid, up = alice["Result"]["SessionId"], mechanism(alice, 0, "UP")["MechanismId"]
    cookie = f"SimLB={cookie_value(alice_response, 'SimLB')}; SimLB={cookie_value(bob_response, 'SimLB')}"
    body = {"SessionId": sid, "MechanismId": up, "Action": "Answer", "Answer": "alice-pass-1"}
    async with httpx.AsyncClient(base_url=str(client.base_url), timeout=10) as c:
        reply = await c.post(
            "/Security/AdvanceAuthentication", json=body, headers={**HEADERS, "Cookie": cookie}
        )
    assert_failure(reply.json())


async def test_a_session_expires_after_the_login_lifetime(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/config", json={"login_lifetime": 120})
    package = await start(client, "alice@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    await client.post("/_sim/clock/advance", json={"seconds": 121})
    assert_failure(await advance(client, sid, up, "Answer", "alice-pass-1"))
    # Not a wrong answer: it does not count towards the lockout.
    assert (await start(client, "alice@example.com"))["Result"]["RetryWaitingTime"] == 0


async def test_a_session_within_its_lifetime_still_works(client: httpx.AsyncClient) -> None:
    await client.post("/_sim/config", json={"login_lifetime": 120})
    package = await start(client, "alice@example.com")
    sid, up = package["Result"]["SessionId"], mechanism(package, 0, "UP")["MechanismId"]
    await client.post("/_sim/clock/advance", json={"seconds": 110})
    assert (await advance(client, sid, up, "Answer", "alice-pass-1"))["Result"]["Summary"] == "LoginSuccess"
