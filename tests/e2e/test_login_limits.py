"""Login throttling over real HTTP: per client IP, per username, X-Forwarded-For only from trusted proxies,
StartOOB per user (push bombing), and a superseded login cleaned up at the tenant."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import answer, mechanism, ok, password, start, start_oob


def _client(url: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"X-CSRF": "1", **headers}, timeout=15)


async def test_per_username_limit_answers_429_with_retry_after(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff(bff_login_rate_limit="100/60,2/60")
    async with _client(bff.url) as browser:
        await start(browser, "alice@example.com")
        await start(browser, "ALICE@example.com")  # the same user in another case
        refused = await browser.post("/auth/login", json={"username": "alice@example.com"})
        assert refused.status_code == 429
        body = refused.json()
        assert body["error"] == "rate_limited"
        assert 1 <= body["retry_after"] <= 60
        assert refused.headers["retry-after"] == str(body["retry_after"])
        # Another user from the same address is not held back by alice's limit.
        await start(browser, "sms@example.com")
    starts = [c for c in sim.calls() if c["path"] == "/Security/StartAuthentication"]
    assert len(starts) == 3  # the refused attempt never reached the tenant


async def test_per_ip_limit_counts_every_username(make_bff: BffFactory) -> None:
    bff = make_bff(bff_login_rate_limit="2/60,100/60")
    async with _client(bff.url) as browser:
        await start(browser, "alice@example.com")
        await start(browser, "sms@example.com")
        refused = await browser.post("/auth/login", json={"username": "email@example.com"})
        assert refused.status_code == 429


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(make_bff: BffFactory) -> None:
    trusting = make_bff(bff_login_rate_limit="1/60,100/60", bff_trusted_proxies="127.0.0.1/32")
    for client_ip in ("198.51.100.1", "198.51.100.2"):
        async with _client(trusting.url, **{"X-Forwarded-For": client_ip}) as browser:
            await start(browser, "alice@example.com")

    untrusting = make_bff(bff_login_rate_limit="1/60,100/60")
    async with _client(untrusting.url, **{"X-Forwarded-For": "198.51.100.3"}) as browser:
        await start(browser, "alice@example.com")
    async with _client(untrusting.url, **{"X-Forwarded-For": "198.51.100.4"}) as browser:
        # A spoofed header from an untrusted peer does not buy a fresh bucket.
        assert (await browser.post("/auth/login", json={"username": "alice@example.com"})).status_code == 429


async def test_ipv6_clients_share_one_login_budget_per_64(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff(bff_login_rate_limit="10/60,100000/60", bff_trusted_proxies="127.0.0.1/32")
    statuses: list[int] = []
    async with _client(bff.url) as browser:
        # 200 attempts, each from a different address of one /64 (as a host with privacy addresses may).
        for n in range(200):
            address = f"2001:db8:4:7:{n:x}:{(n * 7919) & 0xFFFF:x}::{n + 1:x}"
            response = await browser.post(
                "/auth/login", json={"username": "alice@example.com"}, headers={"X-Forwarded-For": address}
            )
            statuses.append(response.status_code)
        assert statuses.count(200) == 10 and statuses.count(429) == 190
        assert statuses[:10] == [200] * 10
        # The next /64 is another client, with a budget of its own.
        other = await browser.post(
            "/auth/login",
            json={"username": "alice@example.com"},
            headers={"X-Forwarded-For": "2001:db8:4:8::1"},
        )
        assert other.status_code == 200
    starts = [c for c in sim.calls() if c["path"] == "/Security/StartAuthentication"]
    assert len(starts) == 11


async def test_ipv4_clients_keep_a_login_budget_per_address(make_bff: BffFactory) -> None:
    bff = make_bff(bff_login_rate_limit="1/60,100000/60", bff_trusted_proxies="127.0.0.1/32")
    async with _client(bff.url) as browser:
        for n in range(1, 13):  # neighbours in one /24 are not one client
            headers = {"X-Forwarded-For": f"198.51.100.{n}"}
            ok(await browser.post("/auth/login", json={"username": "alice@example.com"}, headers=headers))
        again = await browser.post(
            "/auth/login", json={"username": "alice@example.com"}, headers={"X-Forwarded-For": "198.51.100.1"}
        )
        assert again.status_code == 429


async def test_every_forwarded_for_line_is_read_so_a_client_cannot_pick_its_rate_limit_ip(
    make_bff: BffFactory,
) -> None:
    # The trusted proxy adds its own X-Forwarded-For line (the address it saw) after the client's own line.
    bff = make_bff(bff_login_rate_limit="1/60,100000/60", bff_trusted_proxies="127.0.0.1/32")
    async with _client(bff.url) as browser:

        async def attempt(typed: str, seen: str) -> int:
            lines = [("X-Forwarded-For", typed), ("X-Forwarded-For", seen)]
            response = await browser.post(
                "/auth/login", json={"username": "alice@example.com"}, headers=lines
            )
            return response.status_code

        assert await attempt("203.0.113.1", "198.51.100.9") == 200
        # A fresh address typed by the client does not buy a fresh budget: the proxy's line names it.
        assert await attempt("203.0.113.2", "198.51.100.9") == 429
        assert await attempt("198.51.100.10", "198.51.100.9") == 429
        # Another real client (the proxy's line) still has its own.
        assert await attempt("203.0.113.2", "198.51.100.10") == 200


async def test_start_oob_is_capped_per_login_and_per_user(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff()
    user = "push@example.com"
    pushes = 0
    async with _client(bff.url) as browser:
        for _ in range(2):
            step = await start(browser, user)
            otp = mechanism(ok(await answer(browser, mechanism(step, "UP"), password(user))), "OTP")
            for _ in range(5):
                ok(await start_oob(browser, otp))
                pushes += 1
            per_login = await start_oob(browser, otp)
            assert per_login.status_code == 429  # the sixth in one login
        step = await start(browser, user)
        otp = mechanism(ok(await answer(browser, mechanism(step, "UP"), password(user))), "OTP")
        per_user = await start_oob(browser, otp)
        # The eleventh in ten minutes, in a fresh login (so not the per-login cap): wait for the window's end.
        assert per_user.status_code == 429
        assert 1 <= int(per_user.headers["retry-after"]) <= 600
    oob_calls = [c for c in sim.calls() if (c.get("json") or {}).get("Action") == "StartOOB"]
    assert len(oob_calls) == pushes == 10


async def test_concurrent_start_oob_calls_of_one_login_never_exceed_the_per_login_cap(
    make_bff: BffFactory, sim: Sim
) -> None:
    # The per-user limit set out of the way: only the per-login cap (5) is under test, on real Redis.
    bff = make_bff(bff_oob_rate_limit="1000/600")
    user = "push@example.com"
    async with _client(bff.url) as browser:
        step = await start(browser, user)
        otp = mechanism(ok(await answer(browser, mechanism(step, "UP"), password(user))), "OTP")
        answers: list[httpx.Response] = []
        # Ten bursts of 20 at once: one step of a login runs at a time (the others are 409 step_in_progress),
        # so the cap is reached over several bursts, and never passed.
        for _ in range(10):
            answers += await asyncio.gather(*(start_oob(browser, otp) for _ in range(20)))
    statuses = Counter(response.status_code for response in answers)
    assert statuses[200] == 5 and statuses[429] >= 5 and set(statuses) <= {200, 409, 429}, statuses
    oob_calls = [c for c in sim.calls() if (c.get("json") or {}).get("Action") == "StartOOB"]
    assert len(oob_calls) == 5


async def test_a_new_login_cleans_up_the_superseded_one_at_the_tenant(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff()
    async with _client(bff.url) as browser:
        step = await start(browser, "email@example.com")
        ok(await answer(browser, mechanism(step, "UP"), password("email@example.com")))
        await start(browser, "email@example.com")
    calls = sim.calls()
    first = next(c["json"]["SessionId"] for c in calls if c["path"] == "/Security/AdvanceAuthentication")
    cleanups = [c["json"]["SessionId"] for c in calls if c["path"] == "/Security/CleanupAuthentication"]
    assert cleanups == [first]
