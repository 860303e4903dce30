"""One step at a time per login, and one PIN per federated login: parallel requests over real HTTP against
the simulator, whose call log counts what reached the tenant (api.md §2 "One step at a time", "Federated")."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.support.bff_fixtures import Sim
from tests.support.bff_login import answer, mechanism, ok, password, poll, start, start_oob

ADVANCE = "/Security/AdvanceAuthentication"
PIN_USER = "fedpin@partner.example"
#: Seconds the simulator holds the first tenant call of a burst, so the others arrive while it is in flight.
HOLD = 2.0


def tenant_steps(sim: Sim, **match: str) -> list[dict[str, Any]]:
    """The AdvanceAuthentication calls the tenant received whose JSON has ``match``."""
    return [
        c
        for c in sim.calls()
        if c["path"] == ADVANCE and all((c["json"] or {}).get(k) == v for k, v in match.items())
    ]


def hold_next_step(sim: Sim) -> None:
    sim.post("/_sim/faults", {"path": ADVANCE, "delay": HOLD, "times": 1})


def outcomes(answers: list[httpx.Response]) -> Counter[str]:
    return Counter(
        r.json().get("status", "?") if r.status_code == 200 else f"{r.status_code} {r.json()['error']}"
        for r in answers
    )


def assert_one_ran_and_the_rest_were_turned_away(answers: list[httpx.Response], ran: str) -> None:
    seen = outcomes(answers)
    assert seen[ran] == 1, seen
    # The others arrived while that step was in flight (409), or, on a very slow machine, after it ended
    # the login (no login any more, or the PIN already spent); none of them reached the tenant either way.
    assert set(seen) - {ran} <= {"409 step_in_progress", "409 no_login_in_progress", "401 login_failed"}
    assert seen["409 step_in_progress"] >= 1, seen
    body = next(r for r in answers if r.status_code == 409 and r.json()["error"] == "step_in_progress").json()
    assert body == {
        "error": "step_in_progress",
        "message": "Another step of this sign-in is still in progress; wait for its answer.",
    }


async def test_forty_parallel_pin_answers_make_one_tenant_pin_call(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = ok(await browser.post("/auth/login", json={"username": PIN_USER}))
    pin = sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    hold_next_step(sim)
    body = {"mechanism": step["mechanism"], "answer": pin}
    answers = await asyncio.gather(*(browser.post("/auth/advance", json=body) for _ in range(40)))
    assert len(tenant_steps(sim, MechanismId="OOBAUTHPIN")) == 1
    assert_one_ran_and_the_rest_were_turned_away(answers, "authenticated")
    assert ok(await browser.get("/auth/session"))["user"]["username"] == PIN_USER


async def test_forty_parallel_emailed_code_answers_make_one_tenant_call(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = await start(browser, "email@example.com")
    nxt = ok(await answer(browser, mechanism(step, "UP"), password("email@example.com")))
    email = mechanism(nxt, "EMAIL")
    ok(await start_oob(browser, email))
    code = sim.code("email@example.com")
    sim.http.delete("/_sim/calls").raise_for_status()
    hold_next_step(sim)
    answers = await asyncio.gather(*(answer(browser, email, code) for _ in range(40)))
    assert len(tenant_steps(sim, Action="Answer")) == 1
    assert_one_ran_and_the_rest_were_turned_away(answers, "authenticated")


async def test_thirty_parallel_polls_make_one_tenant_call(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await start(browser, "email@example.com")
    nxt = ok(await answer(browser, mechanism(step, "UP"), password("email@example.com")))
    ok(await start_oob(browser, mechanism(nxt, "EMAIL")))
    sim.http.delete("/_sim/calls").raise_for_status()
    hold_next_step(sim)
    answers = await asyncio.gather(*(poll(browser) for _ in range(30)))
    assert len(tenant_steps(sim, Action="Poll")) == 1
    seen = outcomes(answers)
    assert seen["pending"] == 1 and seen["409 step_in_progress"] >= 1, seen
    assert set(seen) <= {"pending", "409 step_in_progress"}, seen
    # The login goes on: the next poll is answered as usual.
    assert ok(await poll(browser))["status"] == "pending"


async def test_a_further_pin_after_one_whose_call_failed_is_login_failed_without_a_tenant_call(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = ok(await browser.post("/auth/login", json={"username": PIN_USER}))
    pin = sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    sim.post("/_sim/faults", {"path": ADVANCE, "status": 503, "times": 1})
    body = {"mechanism": step["mechanism"], "answer": pin}
    failed = await browser.post("/auth/advance", json=body)
    assert failed.status_code == 502 and failed.json()["error"] == "upstream_unavailable"
    again = await browser.post("/auth/advance", json=body)
    assert again.status_code == 401 and again.json()["error"] == "login_failed"
    assert len(tenant_steps(sim, MechanismId="OOBAUTHPIN")) == 1
    assert (await browser.get("/auth/session")).status_code == 401


async def test_a_pin_replayed_after_a_wrong_one_is_login_failed_without_a_tenant_call(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = ok(await browser.post("/auth/login", json={"username": PIN_USER}))
    login_cookie = browser.cookies["bff-login"]
    pin = sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    wrong = "000000" if pin != "000000" else "111111"
    first = await browser.post("/auth/advance", json={"mechanism": step["mechanism"], "answer": wrong})
    assert first.status_code == 401 and first.json()["error"] == "login_failed"
    # The browser dropped the login cookie; whoever kept a copy tries the right PIN with it.
    browser.cookies.set("bff-login", login_cookie)
    replay = await browser.post("/auth/advance", json={"mechanism": step["mechanism"], "answer": pin})
    assert replay.status_code == 401 and replay.json()["error"] == "login_failed"
    assert len(tenant_steps(sim, MechanismId="OOBAUTHPIN")) == 1
