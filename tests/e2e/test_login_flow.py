"""The login flow's edges: pod redirects, cancel, timeout, look-alike failures, tenant waits, poll pacing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import Clock, answer, mechanism, ok, password, poll, start, start_oob

ADVANCE = "/Security/AdvanceAuthentication"


def _client(server: ServerThread) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"X-CSRF": "1"}, timeout=15)


@pytest.fixture
def pod(sim_server: ServerThread, sim: Sim) -> Iterator[ServerThread]:
    """The same simulator app on a second port, named as the pod; the chain is removed afterwards."""
    app = sim_server.config.app
    with ServerThread(app) as second:
        sim.post("/_sim/config", {"pod_chain": [second.host]})
        try:
            yield second
        finally:
            sim.post("/_sim/config", {"pod_chain": []})


async def test_pod_redirect_is_followed_and_the_login_stays_on_the_pod(
    browser: httpx.AsyncClient, sim: Sim, sim_server: ServerThread, pod: ServerThread
) -> None:
    step = await start(browser, "email@example.com")
    nxt = ok(await answer(browser, mechanism(step, "UP"), password("email@example.com")))
    email = mechanism(nxt, "EMAIL")
    ok(await start_oob(browser, email))
    done = ok(await answer(browser, email, sim.code("email@example.com")))
    assert done["status"] == "authenticated"
    assert done["user"]["tenant"] == pod.host

    calls = [c for c in sim.calls() if c["path"].startswith("/Security/")]
    starts = [c["headers"]["host"] for c in calls if c["path"] == "/Security/StartAuthentication"]
    assert starts == [sim_server.host, pod.host]
    advances = [c["headers"]["host"] for c in calls if c["path"] == ADVANCE]
    assert len(advances) == 3 and set(advances) == {pod.host}


async def test_cancel_cleans_up_at_the_tenant_and_ends_the_login(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = await start(browser, "email@example.com")
    nxt = ok(await answer(browser, mechanism(step, "UP"), password("email@example.com")))
    session_id = next(c for c in sim.calls() if c["path"] == ADVANCE)["json"]["SessionId"]

    cancelled = await browser.post("/auth/cancel", json={})
    assert cancelled.status_code == 204 and cancelled.content == b""

    cleanups = [c for c in sim.calls() if c["path"] == "/Security/CleanupAuthentication"]
    assert [c["json"]["SessionId"] for c in cleanups] == [session_id]
    assert sim.http.get("/_sim/state").json()["logins"] == []
    after = await start_oob(browser, mechanism(nxt, "EMAIL"))
    assert after.status_code == 409
    assert after.json()["error"] == "no_login_in_progress"
    # Nothing more reached the tenant after the cancel.
    assert sim.calls()[-1]["path"] == "/Security/CleanupAuthentication"


async def test_cancel_without_a_login_is_204(browser: httpx.AsyncClient, sim: Sim) -> None:
    response = await browser.post("/auth/cancel", json={})
    assert response.status_code == 204
    assert not [c for c in sim.calls() if c["path"].startswith("/Security/")]


async def test_login_state_times_out(make_bff: BffFactory, redis_url: str, sim: Sim) -> None:
    clock = Clock()
    bff = make_bff(clock=clock, bff_login_timeout=30)
    async with _client(bff) as browser:
        step = await start(browser, "alice@example.com")
        keys = redis.Redis.from_url(redis_url).keys("bff:l:*")
        assert len(keys) == 1
        ttl_ms = redis.Redis.from_url(redis_url).pttl(keys[0])
        assert 0 < ttl_ms <= 30_000

        clock.advance(29)
        nxt = await browser.post("/auth/advance", json={"mechanism": "nope", "answer": "x"})
        assert nxt.status_code == 400  # still there one second before the deadline

        clock.advance(2)
        late = await answer(browser, mechanism(step, "UP"), "alice-pass-1")
        assert late.status_code == 409
        assert late.json()["error"] == "no_login_in_progress"
        # The late answer never reached the tenant.
        assert [c["path"] for c in sim.calls() if c["path"] == ADVANCE] == []


async def test_unknown_user_and_wrong_password_answer_the_same_bytes(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    answers = []
    for username, secret in (("alice@example.com", "wrong-pass"), ("nobody@example.com", "wrong-pass")):
        step = await start(browser, username)
        response = await answer(browser, mechanism(step, "UP"), secret)
        answers.append(response)
    known, unknown = answers
    assert known.status_code == unknown.status_code == 401
    assert known.content == unknown.content
    assert known.json()["error"] == "login_failed"
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert known.headers.get_list("set-cookie") == unknown.headers.get_list("set-cookie")
    # After the failure the login is over for both.
    assert (await poll(browser)).status_code == 409


async def test_unknown_user_gets_an_ordinary_password_step(browser: httpx.AsyncClient, sim: Sim) -> None:
    known = await start(browser, "alice@example.com")
    unknown = await start(browser, "nobody@example.com")

    def shape(step: dict[str, Any]) -> object:
        challenge = dict(step["challenge"])
        challenge["mechanisms"] = [{k: v for k, v in m.items() if k != "id"} for m in challenge["mechanisms"]]
        return challenge

    assert shape(known) == shape(unknown)


async def test_tenant_lockout_is_429_with_retry_after(browser: httpx.AsyncClient, sim: Sim) -> None:
    sim.post("/_sim/config", {"lockout_threshold": 3, "lockout_seconds": 60})
    for _ in range(3):
        step = await start(browser, "alice@example.com")
        assert (await answer(browser, mechanism(step, "UP"), "wrong")).status_code == 401
    response = await browser.post("/auth/login", json={"username": "alice@example.com"})
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited"
    assert isinstance(body["retry_after"], int) and 1 <= body["retry_after"] <= 60
    assert response.headers["retry-after"] == str(body["retry_after"])
    assert set(body) == {"error", "message", "retry_after"}


async def test_fast_polls_are_answered_from_the_last_result(make_bff: BffFactory, sim: Sim) -> None:
    clock = Clock()
    bff = make_bff(clock=clock, bff_poll_min_interval=2)
    async with _client(bff) as browser:
        step = await start(browser, "push@example.com")
        nxt = ok(await answer(browser, mechanism(step, "UP"), "push-pass-1"))
        pending = ok(await start_oob(browser, mechanism(nxt, "OTP")))

        def tenant_polls() -> int:
            return sum(1 for c in sim.calls() if c["path"] == ADVANCE and c["json"].get("Action") == "Poll")

        first = ok(await poll(browser))
        assert tenant_polls() == 1
        for _ in range(3):
            clock.advance(0.5)
            assert ok(await poll(browser)) == first
        assert tenant_polls() == 1  # 1.5 s later: still the cached answer
        assert first["number"] == pending["number"]

        sim.approve("push@example.com")
        clock.advance(0.6)  # 2.1 s since the tenant was last asked
        done = ok(await poll(browser))
        assert done["status"] == "authenticated"
        assert tenant_polls() == 2


async def test_a_new_out_of_band_start_is_not_answered_from_an_old_poll(
    make_bff: BffFactory, sim: Sim
) -> None:
    """Switching mechanism (or re-sending a push) within the poll interval shows the new one."""
    clock = Clock()
    bff = make_bff(clock=clock, bff_poll_min_interval=2)
    async with _client(bff) as browser:
        step = await start(browser, "multi@example.com")
        nxt = ok(await answer(browser, mechanism(step, "UP"), "multi-pass-1"))
        email, otp = mechanism(nxt, "EMAIL"), mechanism(nxt, "OTP")
        ok(await start_oob(browser, email))
        assert ok(await poll(browser))["mechanism"] == email["id"]

        pushed = ok(await start_oob(browser, otp))
        assert pushed["mechanism"] == otp["id"] and pushed["number"]
        polled = ok(await poll(browser))
        assert polled == pushed

        again = ok(await start_oob(browser, otp))  # a second push carries a new number
        assert ok(await poll(browser)) == again


async def test_tenant_down_or_slow_is_502_or_504_and_the_login_survives(
    make_bff: BffFactory, sim: Sim
) -> None:
    bff = make_bff(cyberark_timeout=0.5)
    async with _client(bff) as browser:
        sim.post("/_sim/faults", {"path": "/Security/StartAuthentication", "status": 503, "times": 1})
        down = await browser.post("/auth/login", json={"username": "alice@example.com"})
        assert down.status_code == 502 and down.json()["error"] == "upstream_unavailable"

        step = await start(browser, "alice@example.com")
        sim.post("/_sim/faults", {"path": ADVANCE, "delay": 2, "times": 1})
        slow = await answer(browser, mechanism(step, "UP"), "alice-pass-1")
        assert slow.status_code == 504 and slow.json()["error"] == "upstream_timeout"
        sim.post("/_sim/faults", {"path": ADVANCE, "status": 200, "body": "<html>oops</html>", "times": 1})
        garbage = await answer(browser, mechanism(step, "UP"), "alice-pass-1")
        # An answer the BFF cannot read may have spent the SessionId: the SPA is told to start again.
        assert garbage.status_code == 401 and garbage.json()["error"] == "login_failed"
        assert (await poll(browser)).status_code == 409
        step = await start(browser, "alice@example.com")
        assert ok(await answer(browser, mechanism(step, "UP"), "alice-pass-1"))["status"] == "authenticated"


async def test_session_ends_at_its_absolute_lifetime(make_bff: BffFactory, sim: Sim) -> None:
    clock = Clock()
    bff = make_bff(clock=clock, bff_session_max_lifetime=3600, bff_session_idle_timeout=3600)
    async with _client(bff) as browser:
        step = await start(browser, "alice@example.com")
        ok(await answer(browser, mechanism(step, "UP"), "alice-pass-1"))
        clock.advance(3599)
        assert ok(await browser.get("/auth/session"))["authenticated"] is True
        clock.advance(2)
        assert (await browser.get("/auth/session")).status_code == 401
