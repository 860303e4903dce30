"""Every mechanism, satisfied the way a client must satisfy it, over real HTTP."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from simulator.totp import totp
from tests.simulator.helpers import PASSWORDS, advance, assert_failure, mechanism, password_step, start


async def _code(client: httpx.AsyncClient, user: str) -> str:
    response = await client.get(f"/_sim/code/{user}")
    assert response.status_code == 200
    code: str = response.json()["code"]
    return code


async def _totp(client: httpx.AsyncClient, user: str) -> str:
    response = await client.get(f"/_sim/totp/{user}")
    assert response.status_code == 200
    code: str = response.json()["code"]
    return code


async def _second(client: httpx.AsyncClient, user: str, name: str) -> tuple[str, str]:
    """Pass the password of ``user`` and return (SessionId, MechanismId of ``name`` in challenge 2)."""
    package = await start(client, user)
    sid = package["Result"]["SessionId"]
    reply = await advance(client, sid, mechanism(package, 0, "UP")["MechanismId"], "Answer", PASSWORDS[user])
    assert reply["Result"] == {"Summary": "StartNextChallenge"}
    return sid, mechanism(package, 1, name)["MechanismId"]


async def test_up_right_password_logs_in(client: httpx.AsyncClient) -> None:
    _, reply = await password_step(client, "alice@example.com")
    assert reply["success"] is True and reply["Result"]["Summary"] == "LoginSuccess"


async def test_up_wrong_password_fails(client: httpx.AsyncClient) -> None:
    _, reply = await password_step(client, "alice@example.com", "wrong")
    assert_failure(reply)


async def test_email_code(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "email@example.com", "EMAIL")
    assert (await advance(client, sid, mid, "StartOOB"))["Result"] == {"Summary": "OobPending"}
    code = await _code(client, "email@example.com")
    assert len(code) == 6 and code.isdigit()
    assert (await advance(client, sid, mid, "Answer", code))["Result"]["Summary"] == "LoginSuccess"


async def test_email_link_clicked_via_poll(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "email@example.com", "EMAIL")
    await advance(client, sid, mid, "StartOOB")
    assert (await advance(client, sid, mid, "Poll"))["Result"] == {"Summary": "OobPending"}
    assert (await client.post("/_sim/oob/email@example.com/approve")).json() == {"approved": 1}
    assert (await advance(client, sid, mid, "Poll"))["Result"]["Summary"] == "LoginSuccess"


async def test_email_wrong_code_fails(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "email@example.com", "EMAIL")
    await advance(client, sid, mid, "StartOOB")
    code = await _code(client, "email@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert_failure(await advance(client, sid, mid, "Answer", wrong))


async def test_email_startoob_sends_a_fresh_code_each_time(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "email@example.com", "EMAIL")
    codes = set()
    for _ in range(5):
        await advance(client, sid, mid, "StartOOB")
        codes.add(await _code(client, "email@example.com"))
    assert len(codes) > 1
    # Only the last one counts.
    assert (await advance(client, sid, mid, "Answer", await _code(client, "email@example.com")))["success"]


async def test_answer_before_startoob_fails_for_text_oob(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "email@example.com", "EMAIL")
    assert_failure(await advance(client, sid, mid, "Answer", "123456"))


async def test_sms_code(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "sms@example.com", "SMS")
    assert (await advance(client, sid, mid, "StartOOB"))["Result"] == {"Summary": "OobPending"}
    code = await _code(client, "sms@example.com")
    assert (await advance(client, sid, mid, "Answer", code))["Result"]["Summary"] == "LoginSuccess"


async def test_oath_first_then_password(client: httpx.AsyncClient) -> None:
    package = await start(client, "oath@example.com")
    sid = package["Result"]["SessionId"]
    oath = mechanism(package, 0, "OATH")["MechanismId"]
    assert (await advance(client, sid, oath, "StartOOB"))["Result"]["Summary"] == "OobPending"
    code = await _totp(client, "oath@example.com")
    assert (await advance(client, sid, oath, "Answer", code))["Result"] == {"Summary": "StartNextChallenge"}
    up = mechanism(package, 1, "UP")["MechanismId"]
    assert (await advance(client, sid, up, "Answer", "oath-pass-1"))["Result"]["Summary"] == "LoginSuccess"


async def test_oath_text_answer_without_startoob(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "oath-text@example.com", "OATH")
    code = await _totp(client, "oath-text@example.com")
    assert (await advance(client, sid, mid, "Answer", code))["Result"]["Summary"] == "LoginSuccess"


async def test_oath_code_follows_the_simulator_clock(client: httpx.AsyncClient, sim_app: FastAPI) -> None:
    secret = sim_app.state.sim.user("oath-text@example.com").totp_secret
    before = await _totp(client, "oath-text@example.com")
    await client.post("/_sim/clock/advance", json={"seconds": 300})
    now = sim_app.state.sim.now()
    assert await _totp(client, "oath-text@example.com") == totp(secret, now)
    sid, mid = await _second(client, "oath-text@example.com", "OATH")
    # A code from 10 steps ago is outside the +-1 step window.
    assert before != totp(secret, now)
    assert_failure(await advance(client, sid, mid, "Answer", before))


async def _mid_step(client: httpx.AsyncClient, sim_app: FastAPI) -> float:
    """Move the simulator clock to the middle of a 30 s step, so a test cannot straddle a boundary."""
    now = sim_app.state.sim.now()
    await client.post("/_sim/clock/advance", json={"seconds": (15 - now % 30) % 30})
    now = sim_app.state.sim.now()
    assert 10 < now % 30 < 20
    return now


async def test_oath_accepts_one_step_either_side(client: httpx.AsyncClient, sim_app: FastAPI) -> None:
    now = await _mid_step(client, sim_app)
    secret = sim_app.state.sim.user("oath-text@example.com").totp_secret
    for delta in (-30, 30):
        sid, mid = await _second(client, "oath-text@example.com", "OATH")
        reply = await advance(client, sid, mid, "Answer", totp(secret, now + delta))
        assert reply["Result"]["Summary"] == "LoginSuccess"
    for delta in (-60, 60):
        sid, mid = await _second(client, "oath-text@example.com", "OATH")
        assert_failure(await advance(client, sid, mid, "Answer", totp(secret, now + delta)))


async def test_push_with_number_matching_approved(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "push@example.com", "OTP")
    started = await advance(client, sid, mid, "StartOOB")
    assert started["Result"]["Summary"] == "OobPending"
    value = started["Result"]["GeneratedAuthValue"]
    assert isinstance(value, str) and len(value) == 2 and value.isdigit()
    assert (await advance(client, sid, mid, "Poll"))["Result"] == {"Summary": "OobPending"}
    await client.post("/_sim/oob/push@example.com/approve")
    assert (await advance(client, sid, mid, "Poll"))["Result"]["Summary"] == "LoginSuccess"


async def test_push_denied_fails(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "push@example.com", "OTP")
    await advance(client, sid, mid, "StartOOB")
    assert (await client.post("/_sim/oob/push@example.com/deny")).json() == {"denied": 1}
    assert_failure(await advance(client, sid, mid, "Poll"))


async def test_push_answered_with_current_totp(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "push@example.com", "OTP")
    await advance(client, sid, mid, "StartOOB")
    code = await _totp(client, "push@example.com")
    assert (await advance(client, sid, mid, "Answer", code))["Result"]["Summary"] == "LoginSuccess"


async def test_push_without_number_matching_has_no_generated_value(client: httpx.AsyncClient) -> None:
    await client.post(
        "/_sim/users",
        json={"username": "plainpush@example.com", "password": "pp", "challenges": [["UP"], ["OTP"]]},
    )
    package = await start(client, "plainpush@example.com")
    sid = package["Result"]["SessionId"]
    await advance(client, sid, mechanism(package, 0, "UP")["MechanismId"], "Answer", "pp")
    started = await advance(client, sid, mechanism(package, 1, "OTP")["MechanismId"], "StartOOB")
    assert started["Result"] == {"Summary": "OobPending"}


async def test_phone_call(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "phone@example.com", "PF")
    assert (await advance(client, sid, mid, "StartOOB"))["Result"] == {"Summary": "OobPending"}
    assert (await advance(client, sid, mid, "Poll"))["Result"] == {"Summary": "OobPending"}
    await client.post("/_sim/oob/phone@example.com/approve")
    assert (await advance(client, sid, mid, "Poll"))["Result"]["Summary"] == "LoginSuccess"


async def test_phone_call_cannot_be_answered_with_text(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "phone@example.com", "PF")
    await advance(client, sid, mid, "StartOOB")
    assert_failure(await advance(client, sid, mid, "Answer", "1"))


async def test_qr_is_polled_until_approved(client: httpx.AsyncClient) -> None:
    package = await start(client, "qr@example.com")
    sid, mid = package["Result"]["SessionId"], mechanism(package, 0, "QR")["MechanismId"]
    assert (await advance(client, sid, mid, "Poll"))["Result"] == {"Summary": "OobPending"}
    await client.post("/_sim/oob/qr@example.com/approve")
    assert (await advance(client, sid, mid, "Poll"))["Result"]["Summary"] == "LoginSuccess"


async def test_sq_single(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "sq@example.com", "SQ")
    assert (await advance(client, sid, mid, "Answer", "Rex"))["Result"]["Summary"] == "LoginSuccess"


async def test_sq_single_wrong_answer(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "sq@example.com", "SQ")
    assert_failure(await advance(client, sid, mid, "Answer", "Fido"))


async def test_sq_multipart_needs_every_part(client: httpx.AsyncClient) -> None:
    package = await start(client, "sqmulti@example.com")
    parts = mechanism(package, 1, "SQ")["MultipartMechanism"]["MechanismParts"]
    answers = dict(zip([p["Uuid"] for p in parts], ["Lyon", "Beetle"], strict=True))
    sid, mid = await _second(client, "sqmulti@example.com", "SQ")
    assert (await advance(client, sid, mid, "Answer", answers))["Result"]["Summary"] == "LoginSuccess"
    sid, mid = await _second(client, "sqmulti@example.com", "SQ")
    first_only = {parts[0]["Uuid"]: "Lyon"}
    assert_failure(await advance(client, sid, mid, "Answer", first_only))
    sid, mid = await _second(client, "sqmulti@example.com", "SQ")
    assert_failure(await advance(client, sid, mid, "Answer", "Lyon"))


async def test_several_mechanisms_any_one_satisfies_the_challenge(client: httpx.AsyncClient) -> None:
    for name in ("EMAIL", "SMS", "OTP", "OATH"):
        sid, mid = await _second(client, "multi@example.com", name)
        started = await advance(client, sid, mid, "StartOOB")
        assert started["Result"]["Summary"] == "OobPending"
        if name in ("EMAIL", "SMS"):
            answer = await _code(client, "multi@example.com")
        else:
            answer = await _totp(client, "multi@example.com")
        assert (await advance(client, sid, mid, "Answer", answer))["Result"]["Summary"] == "LoginSuccess", (
            name
        )


async def test_switching_mechanism_within_a_challenge(client: httpx.AsyncClient) -> None:
    package = await start(client, "multi@example.com")
    sid = package["Result"]["SessionId"]
    await advance(client, sid, mechanism(package, 0, "UP")["MechanismId"], "Answer", "multi-pass-1")
    await advance(client, sid, mechanism(package, 1, "OTP")["MechanismId"], "StartOOB")
    sms = mechanism(package, 1, "SMS")["MechanismId"]
    await advance(client, sid, sms, "StartOOB")
    code = await _code(client, "multi@example.com")
    assert (await advance(client, sid, sms, "Answer", code))["Result"]["Summary"] == "LoginSuccess"


async def test_must_reset_password_brings_a_reset_package(client: httpx.AsyncClient) -> None:
    sid, reply = await password_step(client, "reset@example.com")
    result = reply["Result"]
    assert result["Summary"] == "NewPackage" and result["SessionId"] == sid
    reset = result["Challenges"][0]["Mechanisms"][0]
    assert reset["Name"] == "RESET" and reset["AnswerType"] == "Text"
    done = await advance(client, sid, reset["MechanismId"], "Answer", "brand-new-pass-2")
    assert done["Result"]["Summary"] == "LoginSuccess"
    # The new password is the password now, and no reset is asked for again.
    _, again = await password_step(client, "reset@example.com", "brand-new-pass-2")
    assert again["Result"]["Summary"] == "LoginSuccess"
    _, old = await password_step(client, "reset@example.com", "reset-pass-1")
    assert_failure(old)


async def test_reset_mechanism_ids_of_the_first_package_are_gone(client: httpx.AsyncClient) -> None:
    package = await start(client, "reset@example.com")
    sid = package["Result"]["SessionId"]
    up = mechanism(package, 0, "UP")["MechanismId"]
    reply = await advance(client, sid, up, "Answer", "reset-pass-1")
    assert reply["Result"]["Challenges"][0]["Mechanisms"][0]["MechanismId"] != up
    assert_failure(await advance(client, sid, up, "Answer", "reset-pass-1"))


async def test_reset_to_the_same_password_fails(client: httpx.AsyncClient) -> None:
    sid, reply = await password_step(client, "reset@example.com")
    reset = reply["Result"]["Challenges"][0]["Mechanisms"][0]["MechanismId"]
    assert_failure(await advance(client, sid, reset, "Answer", "reset-pass-1"))


async def test_demo_user_logs_in_with_push(client: httpx.AsyncClient) -> None:
    sid, mid = await _second(client, "demo@example.com", "OTP")
    started = await advance(client, sid, mid, "StartOOB")
    assert "GeneratedAuthValue" in started["Result"]
    await client.post("/_sim/oob/demo@example.com/approve")
    assert (await advance(client, sid, mid, "Poll"))["Result"]["DisplayName"] == "Demo User"
