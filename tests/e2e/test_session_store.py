"""What Redis holds after real logins (nothing usable in clear); the BFF when Redis goes and comes back."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import httpx
import redis

from app.sessions.ticket import TicketCodec
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, BffFactory, Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, password, start, start_oob
from tests.support.redis_server import RedisServer


def _client(bff: ServerThread, user_agent: str = "scan-browser") -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1", "User-Agent": user_agent}, timeout=15)


def _dump(store: redis.Redis) -> list[tuple[bytes, bytes]]:
    """Every key with every value it holds (SCAN + TYPE + GET/HGETALL)."""
    found: list[tuple[bytes, bytes]] = []
    for key in store.scan_iter(count=100):
        kind = store.type(key)
        if kind == b"string":
            found.append((key, store.get(key) or b""))
        elif kind == b"hash":
            for field, value in store.hgetall(key).items():
                found.append((key, field))
                found.append((key, value))
        else:
            raise AssertionError(f"unexpected {kind!r} at {key!r}")
    return found


def _forms(secret: bytes) -> Iterable[bytes]:
    """A secret as raw bytes and in the encodings it could leak in."""
    yield secret
    yield secret.hex().encode()
    yield base64.b64encode(secret).rstrip(b"=")
    yield base64.urlsafe_b64encode(secret).rstrip(b"=")


def _tickets(cookies: Iterable[str]) -> list[bytes]:
    """The raw ids and record keys inside cookies, decoded as the app does."""
    found: list[bytes] = []
    for cookie in cookies:
        for purpose in ("session", "login"):
            ticket = TicketCodec([SECRET.encode()], purpose).load(cookie)  # type: ignore[arg-type]
            if ticket is not None:
                found += [ticket.id, ticket.key]
    return found


async def test_redis_holds_no_token_password_id_or_name_in_clear(
    bff: ServerThread, sim: Sim, sim_server: ServerThread, redis_url: str
) -> None:
    cookies: list[str] = []
    users: list[dict[str, str]] = []
    answers = ["alice-pass-1", "email-pass-1", "sqmulti-pass-1", "sms-pass-1", "Lyon", "Beetle"]
    async with _client(bff, "laptop") as laptop, _client(bff, "phone") as phone, _client(bff) as other:
        for browser in (laptop, phone):
            users.append((await login_password(browser, "alice@example.com"))["user"])
            cookies.append(browser.cookies["bff"])

        step = await start(other, "email@example.com")
        cookies.append(other.cookies["bff-login"])
        email = mechanism(ok(await answer(other, mechanism(step, "UP"), "email-pass-1")), "EMAIL")
        ok(await start_oob(other, email))
        code = sim.code("email@example.com")
        answers.append(code)
        users.append(ok(await answer(other, email, code))["user"])
        cookies.append(other.cookies["bff"])

        step = await start(other, "sqmulti@example.com")
        sq = mechanism(ok(await answer(other, mechanism(step, "UP"), password("sqmulti@example.com"))), "SQ")
        parts = {
            q["id"]: {"In which city were you born?": "Lyon"}.get(q["text"], "Beetle")
            for q in sq["questions"]
        }
        users.append(ok(await answer(other, sq, parts))["user"])
        cookies.append(other.cookies["bff"])

        # A login left in progress: its pre-auth state (tenant SessionId, pending code) is in Redis too.
        step = await start(other, "sms@example.com")
        cookies.append(other.cookies["bff-login"])
        sms = mechanism(ok(await answer(other, mechanism(step, "UP"), "sms-pass-1")), "SMS")
        ok(await start_oob(other, sms))
        answers.append(sim.code("sms@example.com"))

    state: Any = sim_server.config.app.state.sim
    with state.lock:
        tokens = [t.value for t in state.tokens.values()]
    assert len(tokens) == 8  # a duration and a one-time token per completed login
    tenant_ids = {
        value
        for call in sim.calls()
        for name, value in (call.get("json") or {}).items()
        if name in ("SessionId", "MechanismId")
    }
    assert len(tenant_ids) > 5
    names = [u[field] for u in users for field in ("id", "username", "email", "display_name")]
    names += ["sms@example.com", "alice", "Sam Sms"]

    secrets = [s.encode() for s in (*tokens, *tenant_ids, *answers, *names, *cookies)]
    secrets += [form for raw in _tickets(cookies) for form in _forms(raw)]
    store = redis.Redis.from_url(redis_url)
    try:
        dump = _dump(store)
        keys = {key for key, _ in dump}
        # Records, user indexes, user names' entries (keyed hashes, sealed), one login, and rate-limit buckets
        # (keyed hashes of IPs and usernames).
        assert {k.split(b":")[1] for k in keys} == {b"s", b"u", b"n", b"l", b"rl"}
        for key in keys:
            assert key.startswith(b"bff:")
            assert store.pttl(key) > 0, key  # nothing lives forever
        for key, value in dump:
            for secret in secrets:
                assert secret not in key and secret not in value, (key, secret[:12])
            for name in names:  # in any letter case
                assert name.lower().encode() not in value.lower(), (key, name)
    finally:
        store.close()


async def test_store_outage_is_503_and_recovers_without_restart(
    make_bff: BffFactory, sim: Sim, own_redis: RedisServer
) -> None:
    bff = make_bff(bff_redis_url=own_redis.url)
    async with _client(bff) as browser:
        await login_password(browser, "alice@example.com")
        step = await start(browser, "email@example.com")  # a login in progress too
        assert ok(await browser.get("/readyz"))["status"] == "ok"

        own_redis.stop()
        for method, path, body in (
            ("GET", "/auth/session", None),
            ("GET", "/auth/session?slide=false", None),
            ("GET", "/auth/sessions", None),
            ("POST", "/auth/login", {"username": "alice@example.com"}),
            ("POST", "/auth/advance", {"mechanism": mechanism(step, "UP")["id"], "answer": "email-pass-1"}),
            ("POST", "/auth/poll", {}),
            ("POST", "/auth/logout", None),
        ):
            response = await browser.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.json()["error"] == "store_unavailable"
            assert int(response.headers["retry-after"]) >= 1
        ready = await browser.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"]

        own_redis.start()  # same port, empty (no persistence): the old session is simply gone
        assert ok(await browser.get("/readyz"))["status"] == "ok"
        assert (await browser.get("/auth/session")).status_code == 401
        await login_password(browser, "alice@example.com")
        assert ok(await browser.get("/auth/session"))["authenticated"] is True
