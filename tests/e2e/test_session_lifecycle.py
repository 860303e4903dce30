"""Sessions over real HTTP on real Redis: rotation at login, tenant logout, listing, revoking, sliding."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis

from app.sessions.keyring import Keyring
from app.sessions.ticket import TicketCodec
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, BffFactory, Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, start

IDLE = 1800  # the default BFF_SESSION_IDLE_TIMEOUT


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _client(bff: ServerThread, user_agent: str = "test-browser", **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=bff.url, headers={"X-CSRF": "1", "User-Agent": user_agent, **headers}, timeout=15
    )


def _session_key(cookie: str) -> bytes:
    """The Redis key of the record behind ``cookie``, found the way the app finds it."""
    ticket = TicketCodec([SECRET.encode()], "session").load(cookie)
    assert ticket is not None
    return b"bff:s:" + ticket.storage_hash.encode()


def _tenant_tokens(sim_server: ServerThread, username: str) -> list[str]:
    """The live .ASPXAUTH values the simulator issued to ``username`` (read from its in-process state)."""
    state: Any = sim_server.config.app.state.sim
    with state.lock:
        return [
            t.value
            for t in state.tokens.values()
            if t.user.username == username and not t.one_time and not t.revoked
        ]


async def test_login_rotates_the_handle(bff: ServerThread, sim: Sim, store: redis.Redis) -> None:
    async with _client(bff) as browser:
        step = await start(browser, "alice@example.com")
        login_cookie = browser.cookies["bff-login"]
        await answer(browser, mechanism(step, "UP"), "alice-pass-1")
        session_cookie = browser.cookies["bff"]
        assert "bff-login" not in browser.cookies  # cleared by the success answer
    assert session_cookie != login_cookie
    login_ticket = TicketCodec([SECRET.encode()], "login").load(login_cookie)
    session_ticket = TicketCodec([SECRET.encode()], "session").load(session_cookie)
    assert login_ticket is not None and session_ticket is not None
    assert login_ticket.id != session_ticket.id and login_ticket.key != session_ticket.key
    assert store.keys("bff:l:*") == []  # the pre-auth state is gone from Redis

    # The pre-auth handle no longer works, as a login cookie or as a session cookie.
    async with _client(bff, Cookie=f"bff-login={login_cookie}") as replay:
        response = await replay.post("/auth/poll", json={})
        assert response.status_code == 409 and response.json()["error"] == "no_login_in_progress"
        assert (await answer(replay, mechanism(step, "UP"), "alice-pass-1")).status_code == 409
    async with _client(bff, Cookie=f"bff={login_cookie}") as replay:
        assert (await replay.get("/auth/session")).status_code == 401


async def test_a_second_login_in_the_same_browser_ends_the_first_session(
    bff: ServerThread, sim: Sim, store: redis.Redis
) -> None:
    async with _client(bff) as browser:
        await login_password(browser, "alice@example.com")
        first = browser.cookies["bff"]
        await login_password(browser, "alice@example.com")
        second = browser.cookies["bff"]
        sessions = (await browser.get("/auth/sessions")).json()
    assert first != second
    assert not store.exists(_session_key(first))
    assert store.exists(_session_key(second))
    assert len(sessions) == 1 and sessions[0]["current"] is True
    async with _client(bff, Cookie=f"bff={first}") as old:
        assert (await old.get("/auth/session")).status_code == 401


async def test_logout_ends_the_token_at_the_tenant_and_the_session_everywhere(
    bff: ServerThread, sim: Sim, sim_server: ServerThread, store: redis.Redis
) -> None:
    async with _client(bff) as browser:
        done = await login_password(browser, "alice@example.com")
        cookie = browser.cookies["bff"]
        [token] = _tenant_tokens(sim_server, "alice@example.com")
        index = ("bff:u:" + Keyring([SECRET.encode()]).index_names(done["user"]["id"])[0]).encode()
        assert store.exists(_session_key(cookie)) and store.hlen(index) == 1

        response = await browser.post("/auth/logout")
        assert response.status_code == 204
        assert "bff" not in browser.cookies

    logouts = [c for c in sim.calls() if c["path"] == "/Security/Logout"]
    assert [c["headers"]["authorization"] for c in logouts] == [f"Bearer {token}"]
    assert "cookie" not in logouts[0]["headers"]
    assert _tenant_tokens(sim_server, "alice@example.com") == []  # the tenant ended it
    assert not store.exists(_session_key(cookie))
    assert store.hlen(index) == 0
    async with _client(bff, Cookie=f"bff={cookie}") as replay:
        assert (await replay.get("/auth/session")).status_code == 401
        # Logging out again (or without a session) is still 204, and does not call the tenant.
        assert (await replay.post("/auth/logout")).status_code == 204
    assert len([c for c in sim.calls() if c["path"] == "/Security/Logout"]) == 1


async def test_sessions_are_listed_across_browsers_and_revoked_by_id(bff: ServerThread, sim: Sim) -> None:
    async with (
        _client(bff, "laptop-browser") as laptop,
        _client(bff, "phone-browser") as phone,
        _client(bff, "someone-else") as other,
    ):
        await login_password(laptop, "alice@example.com")
        await login_password(phone, "alice@example.com")
        await login_password(other, "apps@example.com")

        listed = (await laptop.get("/auth/sessions")).json()
        assert [(s["user_agent"], s["current"]) for s in listed] == [
            ("laptop-browser", True),
            ("phone-browser", False),
        ]
        for item in listed:
            assert set(item) == {"id", "current", "created_at", "last_seen_at", "user_agent", "ip", "login"}
            assert item["ip"] == "127.0.0.1" and item["login"] == "api"
        from_phone = (await phone.get("/auth/sessions")).json()
        assert {s["id"] for s in from_phone} == {s["id"] for s in listed}
        assert [s["current"] for s in from_phone] == [False, True]

        # Someone else's session id is not mine to end: 404, and it stays alive.
        [theirs] = (await other.get("/auth/sessions")).json()
        refused = await laptop.delete(f"/auth/sessions/{theirs['id']}")
        assert refused.status_code == 404 and refused.json()["error"] == "not_found"
        assert (await other.get("/auth/session")).status_code == 200
        assert (await laptop.delete("/auth/sessions/" + "f" * 32)).status_code == 404
        assert (await laptop.delete("/auth/sessions/not-an-id")).status_code == 404

        phone_id = listed[1]["id"]
        assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 204
        gone = await phone.get("/auth/session")
        assert gone.status_code == 401 and gone.json()["error"] == "unauthenticated"
        assert [s["user_agent"] for s in (await laptop.get("/auth/sessions")).json()] == ["laptop-browser"]
        # Ending it twice: it is no longer one of mine.
        assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 404


async def test_a_login_past_the_sessions_per_user_cap_ends_the_oldest_session(
    make_bff: BffFactory, sim: Sim, store: redis.Redis
) -> None:
    bff = make_bff(bff_max_sessions_per_user=2)
    browsers = [_client(bff, user_agent=f"device-{n}") for n in range(3)]
    try:
        for browser in browsers:
            await login_password(browser, "alice@example.com")
        first, second, third = browsers
        assert (await first.get("/auth/session")).status_code == 401  # ended, not only unlisted
        assert not store.exists(_session_key(first.cookies["bff"]))
        assert (await second.get("/auth/session")).status_code == 200
        listing = (await third.get("/auth/sessions")).json()
        assert [item["user_agent"] for item in listing] == ["device-1", "device-2"]
    finally:
        for browser in browsers:
            await browser.aclose()


async def test_revoking_my_own_current_session_clears_the_cookie(bff: ServerThread, sim: Sim) -> None:
    async with _client(bff) as browser:
        await login_password(browser, "alice@example.com")
        [mine] = (await browser.get("/auth/sessions")).json()
        response = await browser.delete(f"/auth/sessions/{mine['id']}")
        assert response.status_code == 204
        assert "bff" not in browser.cookies
        assert (await browser.get("/auth/session")).status_code == 401


@pytest.mark.parametrize("no", ["false", "0", "off", "FALSE"])
async def test_slide_false_reads_without_extending_the_idle_timer(
    bff: ServerThread, sim: Sim, store: redis.Redis, no: str
) -> None:
    async with _client(bff) as browser:
        await login_password(browser, "alice@example.com")
        key = _session_key(browser.cookies["bff"])
        assert IDLE * 1000 - 5000 < store.pttl(key) <= IDLE * 1000

        store.pexpire(key, 30_000)  # as if the user had been idle for 29.5 minutes
        still = ok(await browser.get("/auth/session", params={"slide": no}))
        assert still["authenticated"] is True
        assert 0 < store.pttl(key) <= 30_000
        # A value that is not a boolean is refused before the session is read (or slid).
        refused = await browser.get("/auth/session", params={"slide": "maybe"})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
        assert 0 < store.pttl(key) <= 30_000

        ok(await browser.get("/auth/session"))
        assert store.pttl(key) > IDLE * 1000 - 5000
        store.pexpire(key, 30_000)
        ok(await browser.get("/auth/session", params={"slide": "true"}))
        assert store.pttl(key) > IDLE * 1000 - 5000


async def test_session_state_shape(browser: httpx.AsyncClient, sim: Sim) -> None:
    done = await login_password(browser, "alice@example.com")
    state = ok(await browser.get("/auth/session"))
    assert set(state) == {"authenticated", "user", "expires_at", "idle_expires_at", "login"}
    assert state["login"] == "api"
    assert state["user"] == done["user"]
    assert set(state["user"]) == {"id", "username", "display_name", "email", "tenant"}
    assert state["idle_expires_at"] <= state["expires_at"]
    unauthenticated = await browser.post("/auth/logout")
    assert unauthenticated.status_code == 204
    after = await browser.get("/auth/session")
    assert after.status_code == 401
    assert after.json() == {"error": "unauthenticated", "message": after.json()["message"]}
