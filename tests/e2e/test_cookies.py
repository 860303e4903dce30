"""The session cookie over real HTTP(S): exact attributes, bad cookies are 401 never 500, secret rotation."""

from __future__ import annotations

import ssl

import httpx
import pytest

from app.sessions.ticket import TicketCodec
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, BffFactory, Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, set_cookies, start

MAX_LIFETIME = 43200  # the default BFF_SESSION_MAX_LIFETIME
SECRET_A = "rotation-secret-A-" + "a" * 32
SECRET_B = "rotation-secret-B-" + "b" * 32


def _attributes(cookie: dict[str, str]) -> set[str]:
    return set(cookie) - {"value", "raw"}


async def test_secure_cookie_has_exactly_the_documented_attributes(
    make_bff: BffFactory, sim: Sim, tls_files: dict[str, str]
) -> None:
    bff = make_bff(ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"], bff_cookie_secure=True)
    assert bff.url.startswith("https://")
    verify = ssl.create_default_context(cafile=tls_files["ca"])
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, verify=verify) as browser:
        started = await browser.post("/auth/login", json={"username": "alice@example.com"})
        login_cookie = set_cookies(started)["__Host-bff-login"]
        assert _attributes(login_cookie) == {"httponly", "max-age", "path", "samesite", "secure"}
        assert login_cookie["max-age"] == "300" and login_cookie["path"] == "/"

        done = await answer(browser, mechanism(ok(started), "UP"), "alice-pass-1")
        cookies = set_cookies(done)
        session = cookies["__Host-bff"]
        assert _attributes(session) == {"httponly", "max-age", "path", "samesite", "secure"}
        assert session["max-age"] == str(MAX_LIFETIME)
        assert session["path"] == "/"
        assert session["samesite"].lower() == "strict"  # attribute values are case-insensitive (RFC 6265bis)
        assert "domain" not in session
        assert "bff" not in cookies  # never the plain-http name over https
        # The login cookie is cleared in the same answer.
        cleared = cookies["__Host-bff-login"]
        assert cleared["value"] in ("", '""') and cleared["max-age"] == "0"
        assert cleared["secure"] == "true" and cleared["path"] == "/"
        assert ok(await browser.get("/auth/session"))["user"]["username"] == "alice@example.com"


async def test_plain_http_cookie_is_named_bff_without_secure(browser: httpx.AsyncClient, sim: Sim) -> None:
    step = await start(browser, "alice@example.com")
    done = await answer(browser, mechanism(step, "UP"), "alice-pass-1")
    cookies = set_cookies(done)
    assert "__Host-bff" not in cookies
    session = cookies["bff"]
    assert _attributes(session) == {"httponly", "max-age", "path", "samesite"}
    assert session["max-age"] == str(MAX_LIFETIME) and session["path"] == "/"
    assert session["samesite"].lower() == "strict"


async def test_logout_clears_the_cookie(browser: httpx.AsyncClient, sim: Sim) -> None:
    await login_password(browser, "alice@example.com")
    response = await browser.post("/auth/logout")
    cleared = set_cookies(response)["bff"]
    assert cleared["max-age"] == "0" and cleared["path"] == "/" and cleared["httponly"] == "true"


def _variants(cookie: str) -> dict[str, str]:
    """Ways a cookie goes bad: each must read as 'no session'."""
    payload, _, signature = cookie.rpartition(".")
    flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
    ticket = TicketCodec([SECRET.encode()], "session").load(cookie)
    assert ticket is not None
    return {
        "tampered payload": f"{flipped}.{signature}",
        "tampered signature": f"{payload}.{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        "truncated": cookie[: len(cookie) // 2],
        "signature dropped": payload,
        "signed with a removed key": TicketCodec([b"an-old-key-no-longer-listed" * 2], "session").dump(
            ticket
        ),
        "signed as a login cookie": TicketCodec([SECRET.encode()], "login").dump(ticket),
        "garbage": "not-a-cookie",
        "huge": "A" * 4000,
        "non-ascii": "\u00e9t\u00e9.abc",
        "only dots": "....",
        "empty signature": payload + ".",
    }


async def test_bad_session_cookies_are_401_never_500(bff: ServerThread, sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}) as browser:
        await login_password(browser, "alice@example.com")
        good = browser.cookies["bff"]
    for name, bad in _variants(good).items():
        headers = {"X-CSRF": b"1", "Cookie": f"bff={bad}".encode()}
        async with httpx.AsyncClient(base_url=bff.url) as raw:
            for method, path, expected in (
                ("GET", "/auth/session", 401),
                ("GET", "/auth/session?slide=false", 401),
                ("GET", "/auth/sessions", 401),
                ("DELETE", "/auth/sessions/" + "0" * 32, 401),
                ("POST", "/auth/logout", 204),
            ):
                response = await raw.request(method, path, headers=headers)
                assert response.status_code == expected, (name, path, response.text)
                if expected == 401:
                    assert response.json()["error"] == "unauthenticated", name
    # The good cookie still works: none of the attempts harmed the session.
    async with httpx.AsyncClient(base_url=bff.url) as raw:
        assert (await raw.get("/auth/session", headers={"Cookie": f"bff={good}"})).status_code == 200


async def test_bad_login_cookies_are_409_never_500(bff: ServerThread, sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}) as browser:
        step = await start(browser, "alice@example.com")
        good = browser.cookies["bff-login"]
    for bad in ("garbage", good[:-3], good + "x", "A" * 3000):
        async with httpx.AsyncClient(
            base_url=bff.url, headers={"X-CSRF": "1", "Cookie": f"bff-login={bad}"}
        ) as raw:
            assert (await raw.post("/auth/poll", json={})).status_code == 409
            response = await answer(raw, mechanism(step, "UP"), "alice-pass-1")
            assert response.status_code == 409 and response.json()["error"] == "no_login_in_progress"
            assert (await raw.post("/auth/cancel", json={})).status_code == 204
    # A session cookie is not a login cookie (different salt).
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}) as browser:
        await login_password(browser, "alice@example.com")
        session_cookie = browser.cookies["bff"]
    async with httpx.AsyncClient(
        base_url=bff.url, headers={"X-CSRF": "1", "Cookie": f"bff-login={session_cookie}"}
    ) as raw:
        assert (await raw.post("/auth/poll", json={})).status_code == 409


@pytest.mark.parametrize("restart_with", [f"{SECRET_B},{SECRET_A}", SECRET_B])
async def test_secret_rotation(make_bff: BffFactory, sim: Sim, restart_with: str) -> None:
    """Old sessions stay valid while their key is listed (B,A), and end when it is removed (B)."""
    first = make_bff(bff_session_secrets=SECRET_A)
    async with httpx.AsyncClient(base_url=first.url, headers={"X-CSRF": "1"}) as browser:
        await login_password(browser, "alice@example.com")
        cookie = browser.cookies["bff"]
    first.stop()

    second = make_bff(bff_session_secrets=restart_with)
    async with httpx.AsyncClient(base_url=second.url, headers={"Cookie": f"bff={cookie}"}) as browser:
        response = await browser.get("/auth/session")
        listing = await browser.get("/auth/sessions")
    if restart_with == SECRET_B:
        assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
        assert listing.status_code == 401
    else:
        assert response.status_code == 200
        assert response.json()["user"]["username"] == "alice@example.com"
        assert [s["current"] for s in ok(listing)] == [True]  # the index sealed under A still opens
