"""Federated users (OobIdPAuth) through the real BFF, against the simulator, over real HTTP (api.md §2)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any

import httpx
import pytest

from app.login.flow import FEDERATED_PIN_PROMPT, FEDERATED_PROMPT
from tests.e2e.test_login_logs import Capture, captured  # noqa: F401 - the fixture
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import ok, poll

FED = "fed@partner.example"
PIN_USER = "fedpin@partner.example"


async def begin(browser: httpx.AsyncClient, username: str = FED) -> dict[str, Any]:
    return ok(await browser.post("/auth/login", json={"username": username}))


def idp_sign_in(url: str) -> str | None:
    """What the user does in the new window: open the short URL and press Sign in; the PIN shown, if any."""
    with httpx.Client(timeout=10) as window:
        page = window.get(url)
        assert page.status_code == 200 and "Sign in" in page.text
        done = window.post(url, data={"action": "sign_in"})
        assert done.status_code == 200
    shown = re.search(r"<b id='pin'>(\d+)</b>", done.text)
    return shown.group(1) if shown else None


def idp_login_sessions(sim_server: ServerThread) -> list[str]:
    """The IdpLoginSessionIds the simulator handed out (its call log keeps requests, not answers)."""
    return [
        str(c["json"]["SessionId"])
        for c in Sim(sim_server.url).calls()
        if c["path"] == "/Security/OobAuthStatus"
        or (c["path"] == "/Security/AdvanceAuthentication" and c["json"].get("MechanismId") == "OOBAUTHPIN")
    ]


def assert_login_failed(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "login_failed", "message": "Sign-in failed. Start again."}
    assert "bff-login" not in response.cookies or response.cookies["bff-login"] in ("", '""')


async def test_the_polling_variant_end_to_end(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await begin(browser)
    assert set(step) == {"status", "url", "mechanism", "pin"}
    assert step["status"] == "redirect" and step["pin"] is False
    # The short URL, on the tenant, not the IdP's long one.
    assert re.fullmatch(re.escape(sim.url) + r"/u/[A-Za-z0-9_-]+", step["url"]), step["url"]
    start = next(c for c in sim.calls() if c["path"] == "/Security/StartAuthentication")
    assert start["headers"]["oobidpauth"] == "true"

    pending = ok(await poll(browser))
    assert pending == {"status": "pending", "mechanism": step["mechanism"], "prompt": FEDERATED_PROMPT}
    assert idp_sign_in(step["url"]) is None
    done = ok(await poll(browser))
    assert done["status"] == "authenticated"
    assert done["user"]["username"] == FED and done["user"]["id"]
    assert browser.cookies.get("bff") and not browser.cookies.get("bff-login")

    # The session works, and its bearer is the result's Token (Whoami was asked with it).
    session = ok(await browser.get("/auth/session"))
    assert session["user"]["username"] == FED
    apps = ok(await browser.post("/api/UPRest/GetUPData", json={}))
    assert apps["success"] is True
    whoami = [c for c in sim.calls() if c["path"] == "/Security/Whoami"]
    assert len(whoami) == 1 and whoami[0]["headers"]["authorization"].startswith("Bearer ")
    bearer = whoami[0]["headers"]["authorization"]
    proxied = [c for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    assert proxied[0]["headers"]["authorization"] == bearer
    assert (await browser.post("/auth/logout")).status_code == 204
    logout = [c for c in sim.calls() if c["path"] == "/Security/Logout"]
    assert logout[0]["headers"]["authorization"] == bearer


async def test_the_pin_variant_end_to_end(
    browser: httpx.AsyncClient, sim: Sim, sim_server: ServerThread
) -> None:
    step = await begin(browser, PIN_USER)
    assert step["pin"] is True
    assert ok(await poll(browser)) == {
        "status": "pending",
        "mechanism": step["mechanism"],
        "prompt": FEDERATED_PIN_PROMPT,
    }
    pin = idp_sign_in(step["url"])
    assert pin is not None
    # Polling a PIN login stays pending; the PIN finishes it.
    assert ok(await poll(browser))["status"] == "pending"
    done = ok(await browser.post("/auth/advance", json={"mechanism": step["mechanism"], "answer": pin}))
    assert done["status"] == "authenticated"
    assert done["user"]["username"] == PIN_USER and done["user"]["display_name"] == "Pia Pin"
    answered = [c["json"] for c in sim.calls() if c["path"] == "/Security/AdvanceAuthentication"]
    (sid,) = set(idp_login_sessions(sim_server))
    assert answered == [{"SessionId": sid, "MechanismId": "OOBAUTHPIN", "Action": "Answer", "Answer": pin}]
    assert ok(await browser.get("/auth/session"))["user"]["username"] == PIN_USER


async def test_the_token_lifetime_caps_the_session(browser: httpx.AsyncClient, sim: Sim) -> None:
    sim.post("/_sim/config", {"token_lifetime": 600})
    await begin(browser)
    sim.post(f"/_sim/idp/{FED}/complete")
    before = time.time()
    done = await poll(browser)
    assert ok(done)["status"] == "authenticated"
    cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("bff="))
    assert "Max-Age=600" in cookie
    expires = datetime.fromisoformat(ok(await browser.get("/auth/session"))["expires_at"]).timestamp()
    assert before + 590 <= expires <= time.time() + 600


async def test_the_idp_refusing_is_login_failed(browser: httpx.AsyncClient, sim: Sim) -> None:
    await begin(browser)
    sim.post(f"/_sim/idp/{FED}/fail")
    assert_login_failed(await poll(browser))
    assert (await poll(browser)).status_code == 409


async def test_an_expired_federated_login_is_login_failed(browser: httpx.AsyncClient, sim: Sim) -> None:
    await begin(browser)
    sim.post("/_sim/clock/advance", {"seconds": 601})
    assert_login_failed(await poll(browser))


async def test_a_wrong_pin_is_login_failed(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await begin(browser, PIN_USER)
    pin = sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    wrong = "000000" if pin != "000000" else "111111"
    assert_login_failed(
        await browser.post("/auth/advance", json={"mechanism": step["mechanism"], "answer": wrong})
    )
    assert (await poll(browser)).status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        "<html><body>Service Unavailable</body></html>",
        json.dumps({"success": True, "Result": {"State": "Success"}}),  # no Token
        json.dumps({"success": True, "Result": ["not", "an", "object"]}),
    ],
)
async def test_tenant_garbage_while_polling_is_login_failed(
    browser: httpx.AsyncClient, sim: Sim, body: str
) -> None:
    await begin(browser)
    sim.post("/_sim/faults", {"path": "/Security/OobAuthStatus", "status": 200, "body": body, "times": 1})
    assert_login_failed(await poll(browser))


async def test_wrong_requests_on_a_federated_login_are_400_and_it_survives(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = await begin(browser)
    mech = step["mechanism"]
    for body in (
        {"mechanism": mech, "action": "start_oob"},
        {"mechanism": mech, "answer": "123456"},  # no PIN was asked for
    ):
        refused = await browser.post("/auth/advance", json=body)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    pin_step = await begin(browser, PIN_USER)
    wrong_id = await browser.post("/auth/advance", json={"mechanism": mech + "x", "answer": "123456"})
    assert wrong_id.status_code == 400
    assert sim.calls()[-1]["path"] != "/Security/AdvanceAuthentication"
    pin = sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    done = await browser.post("/auth/advance", json={"mechanism": pin_step["mechanism"], "answer": pin})
    assert ok(done)["status"] == "authenticated"


async def test_polls_faster_than_the_minimum_interval_reuse_the_last_answer(
    make_bff: BffFactory, sim: Sim
) -> None:
    bff = make_bff(bff_poll_min_interval=30)
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await begin(browser)
        first = ok(await poll(browser))
        sim.post(f"/_sim/idp/{FED}/complete")
        assert ok(await poll(browser)) == first  # answered from the last result
    assert len([c for c in sim.calls() if c["path"] == "/Security/OobAuthStatus"]) == 1


async def test_federated_logins_count_against_the_login_rate_limit(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff(bff_login_rate_limit="100/60,2/60")
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        for _ in range(2):
            await begin(browser)
        limited = await browser.post("/auth/login", json={"username": FED})
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"


async def test_nothing_secret_reaches_the_browser_or_the_logs(
    browser: httpx.AsyncClient,
    sim: Sim,
    sim_server: ServerThread,
    captured: Capture,  # noqa: F811
) -> None:
    answers: list[str] = []

    def keep(response: httpx.Response) -> httpx.Response:
        answers.append(response.text + json.dumps(list(response.headers.multi_items())))
        return response

    step = await begin(browser, PIN_USER)
    answers.append(json.dumps(step))
    keep(await poll(browser))
    pin = idp_sign_in(step["url"])
    assert pin is not None
    done = keep(await browser.post("/auth/advance", json={"mechanism": step["mechanism"], "answer": pin}))
    answers.append(json.dumps(list(done.headers.multi_items())))
    keep(await browser.get("/auth/session"))
    state: Any = sim_server.config.app.state.sim
    with state.lock:
        tokens = [t.value for t in state.tokens.values()]
    secrets = {pin, *tokens, *idp_login_sessions(sim_server)}
    assert len(tokens) == 2 and len(secrets) == 4
    text = "\n".join(captured.lines)
    assert '"login_started"' in text and '"login_succeeded"' in text
    for secret in secrets:
        assert secret not in text, secret[:6]
        for answer in answers:
            assert secret not in answer, secret[:6]
