"""Every mechanism kind, through the real BFF, against the real simulator, on real Redis, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.support.bff_fixtures import Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, password, poll, start, start_oob


async def _session_user(browser: httpx.AsyncClient) -> dict[str, str]:
    state = ok(await browser.get("/auth/session"))
    assert state["authenticated"] is True
    user: dict[str, str] = state["user"]
    return user


async def _password_then(browser: httpx.AsyncClient, username: str, second: str) -> dict[str, object]:
    """Answer UP; the next step must be a challenge offering ``second``; returns that mechanism."""
    step = await start(browser, username)
    assert step["challenge"]["index"] == 0 and step["challenge"]["count"] == 2
    nxt = ok(await answer(browser, mechanism(step, "UP"), password(username)))
    assert nxt["challenge"]["index"] == 1
    return mechanism(nxt, second)


async def test_password_only_logs_in_and_shows_the_user(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await start(browser, "alice@example.com")
    up = mechanism(step, "UP")
    assert up["kind"] == "text" and up["label"] and up["prompt"]
    # The browser sees the BFF's own id, never the tenant's MechanismId.
    start_call = next(c for c in sim.calls() if c["path"] == "/Security/StartAuthentication")
    assert up["id"] not in start_call.get("body", "")
    done = ok(await answer(browser, up, "alice-pass-1"))
    assert done["status"] == "authenticated"
    assert done["user"]["username"] == "alice@example.com"
    assert done["user"]["display_name"] == "Alice Password"
    assert (await _session_user(browser))["username"] == "alice@example.com"


async def test_email_code(browser: httpx.AsyncClient, sim: Sim) -> None:
    email = await _password_then(browser, "email@example.com", "EMAIL")
    assert email["kind"] == "text_oob"
    pending = ok(await start_oob(browser, email))
    assert pending["status"] == "pending" and pending["mechanism"] == email["id"]
    assert "number" not in pending
    done = ok(await answer(browser, email, sim.code("email@example.com")))
    assert done["status"] == "authenticated"


async def test_email_link_by_poll(browser: httpx.AsyncClient, sim: Sim) -> None:
    email = await _password_then(browser, "email@example.com", "EMAIL")
    ok(await start_oob(browser, email))
    assert ok(await poll(browser))["status"] == "pending"
    sim.approve("email@example.com")
    done = ok(await poll(browser))
    assert done["status"] == "authenticated"
    assert done["user"]["username"] == "email@example.com"


async def test_sms_code(browser: httpx.AsyncClient, sim: Sim) -> None:
    sms = await _password_then(browser, "sms@example.com", "SMS")
    assert sms["kind"] == "text_oob"
    assert ok(await start_oob(browser, sms))["status"] == "pending"
    done = ok(await answer(browser, sms, sim.code("sms@example.com")))
    assert done["status"] == "authenticated"


async def test_oath_first_then_password(browser: httpx.AsyncClient, sim: Sim) -> None:
    """The package's order is the tenant's: here OATH comes before the password."""
    step = await start(browser, "oath@example.com")
    oath = mechanism(step, "OATH")
    assert [m["name"] for m in step["challenge"]["mechanisms"]] == ["OATH"]
    assert oath["kind"] == "text_oob"
    assert ok(await start_oob(browser, oath))["status"] == "pending"
    nxt = ok(await answer(browser, oath, sim.totp("oath@example.com")))
    assert nxt["status"] == "challenge" and nxt["challenge"]["index"] == 1
    done = ok(await answer(browser, mechanism(nxt, "UP"), "oath-pass-1"))
    assert done["status"] == "authenticated"


async def test_oath_with_text_answer_type(browser: httpx.AsyncClient, sim: Sim) -> None:
    oath = await _password_then(browser, "oath-text@example.com", "OATH")
    assert oath["kind"] == "text"
    done = ok(await answer(browser, oath, sim.totp("oath-text@example.com")))
    assert done["status"] == "authenticated"


async def test_push_with_number_matching_then_poll(browser: httpx.AsyncClient, sim: Sim) -> None:
    otp = await _password_then(browser, "push@example.com", "OTP")
    pending = ok(await start_oob(browser, otp))
    assert pending["status"] == "pending"
    number = pending["number"]
    assert number.isdigit() and len(number) == 2
    # Polls carry the same number: the SPA keeps showing it until the user taps it.
    for _ in range(2):
        again = ok(await poll(browser))
        assert again == {**pending, "status": "pending"}
    sim.approve("push@example.com")
    done = ok(await poll(browser))
    assert done["status"] == "authenticated"


async def test_push_denied_ends_the_login(browser: httpx.AsyncClient, sim: Sim) -> None:
    otp = await _password_then(browser, "push@example.com", "OTP")
    ok(await start_oob(browser, otp))
    sim.deny("push@example.com")
    denied = await poll(browser)
    assert denied.status_code == 401
    assert denied.json()["error"] == "login_failed"
    # The pre-auth state is gone: the SPA must start again.
    again = await poll(browser)
    assert again.status_code == 409 and again.json()["error"] == "no_login_in_progress"


async def test_phone_call(browser: httpx.AsyncClient, sim: Sim) -> None:
    pf = await _password_then(browser, "phone@example.com", "PF")
    assert pf["kind"] == "oob"
    assert ok(await start_oob(browser, pf))["status"] == "pending"
    assert ok(await poll(browser))["status"] == "pending"
    sim.approve("phone@example.com")
    assert ok(await poll(browser))["status"] == "authenticated"


async def test_qr_code(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await start(browser, "qr@example.com")
    qr = mechanism(step, "QR")
    assert qr["kind"] == "oob"
    assert ok(await start_oob(browser, qr))["status"] == "pending"
    sim.approve("qr@example.com")
    assert ok(await poll(browser))["status"] == "authenticated"


async def test_single_security_question(browser: httpx.AsyncClient, sim: Sim) -> None:
    sq = await _password_then(browser, "sq@example.com", "SQ")
    assert sq["kind"] == "text" and "questions" not in sq
    assert ok(await answer(browser, sq, "Rex"))["status"] == "authenticated"


async def test_multi_part_security_question(browser: httpx.AsyncClient, sim: Sim) -> None:
    sq = await _password_then(browser, "sqmulti@example.com", "SQ")
    questions = {q["text"]: q["id"] for q in sq["questions"]}
    assert set(questions) == {"In which city were you born?", "What was your first car?"}
    answers = {
        questions["In which city were you born?"]: "Lyon",
        questions["What was your first car?"]: "Beetle",
    }
    assert ok(await answer(browser, sq, answers))["status"] == "authenticated"


async def test_multi_part_question_refuses_a_plain_string(browser: httpx.AsyncClient, sim: Sim) -> None:
    sq = await _password_then(browser, "sqmulti@example.com", "SQ")
    refused = await answer(browser, sq, "Lyon")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    questions = {q["text"]: q["id"] for q in sq["questions"]}
    answers = {
        questions["In which city were you born?"]: "Lyon",
        questions["What was your first car?"]: "Beetle",
    }
    assert ok(await answer(browser, sq, answers))["status"] == "authenticated"


async def test_forced_password_reset_brings_a_new_package(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await start(browser, "reset@example.com")
    reset = ok(await answer(browser, mechanism(step, "UP"), "reset-pass-1"))
    assert reset["status"] == "challenge" and reset["challenge"]["index"] == 0
    assert [m["name"] for m in reset["challenge"]["mechanisms"]] == ["RESET"]
    done = ok(await answer(browser, mechanism(reset, "RESET"), "reset-pass-2"))
    assert done["status"] == "authenticated"
    # The new password is the one that stands now.
    async with httpx.AsyncClient(base_url=str(browser.base_url), headers={"X-CSRF": "1"}) as other:
        await login_password(other, "reset@example.com", "reset-pass-2")


@pytest.mark.parametrize("name", ["EMAIL", "SMS", "OTP", "OATH"])
async def test_one_of_several_second_factors(browser: httpx.AsyncClient, sim: Sim, name: str) -> None:
    mech = await _password_then(browser, "multi@example.com", name)
    assert mech["label"]  # falls back to Name where PromptSelectMech is missing (OATH, SMS)
    ok(await start_oob(browser, mech))
    code = sim.code("multi@example.com") if name in ("EMAIL", "SMS") else sim.totp("multi@example.com")
    assert ok(await answer(browser, mech, code))["status"] == "authenticated"


async def test_second_factor_ids_change_between_challenges(browser: httpx.AsyncClient, sim: Sim) -> None:
    """An id from the first challenge is not valid in the second: 400, and the login goes on."""
    step = await start(browser, "sq@example.com")
    up = mechanism(step, "UP")
    nxt = ok(await answer(browser, up, "sq-pass-1"))
    stale = await answer(browser, up, "Rex")
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_request"
    assert ok(await answer(browser, mechanism(nxt, "SQ"), "Rex"))["status"] == "authenticated"


# Federated users (a redirect step, then polling or a PIN): tests/e2e/test_login_federated.py.
