"""One promotion of a login to a session, whichever mode (api.md §2): the session the browser held is ended,
the new one's cookie lives exactly as long as the session may. Over real HTTP: the BFF, the simulator's
OAuth2 app and a real Redis."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from redis import Redis

from app.login.oauth import _ASSOCIATED, _unb64
from app.sessions.keyring import Keyring
from app.sessions.sealed import unseal
from tests.support.bff_fixtures import SECRET, Sim
from tests.support.oauth_bff import APP, OAuthBffFactory, location, oauth_login, set_cookie_lines, to_callback

pytestmark = pytest.mark.usefixtures("sim")


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


def session_count(redis_url: str) -> int:
    with Redis.from_url(redis_url) as raw:
        return len(list(raw.scan_iter("bff:s:*")))


async def api_login(browser: httpx.AsyncClient, bff_url: str) -> httpx.Response:
    started = await browser.post(f"{bff_url}/auth/login", json={"username": "alice@example.com"})
    mechanism = started.json()["challenge"]["mechanisms"][0]["id"]
    done = await browser.post(
        f"{bff_url}/auth/advance", json={"mechanism": mechanism, "answer": "alice-pass-1"}
    )
    assert done.json()["status"] == "authenticated"
    return done


async def alive(bff_url: str, cookie: str) -> bool:
    """Whether a session cookie still works, asked by another client (not the browser that replaced it)."""
    async with httpx.AsyncClient(timeout=15, cookies={"bff": cookie}) as other:
        answer = await other.get(f"{bff_url}/auth/session", params={"slide": "false"})
    assert answer.status_code in (200, 401)
    return answer.status_code == 200


def replaced(metrics: str) -> float:
    found = re.search(r'bff_sessions_total\{event="replaced"\} ([0-9.]+)', metrics)
    return float(found.group(1)) if found else 0.0


async def test_an_oauth_sign_in_ends_the_session_the_browser_held(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    await api_login(browser, bff.url)
    held = browser.cookies.get("bff") or ""
    assert session_count(redis_url) == 1
    walk = await oauth_login(browser, bff)
    assert location(walk.callback) == "/"
    assert browser.cookies.get("bff") not in (None, held)
    assert not await alive(bff.url, held)  # before: it lived on beside the new one
    assert session_count(redis_url) == 1
    assert (await browser.get(f"{bff.url}/auth/session")).json()["login"] == "oauth"
    listed = (await browser.get(f"{bff.url}/auth/sessions")).json()
    assert [item["current"] for item in listed] == [True]
    assert replaced((await browser.get(f"{bff.url}/metrics")).text) == 1


async def test_an_oauth_sign_in_ends_an_oauth_session_held_and_an_api_login_ends_an_oauth_one(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    await oauth_login(browser, bff)
    first = browser.cookies.get("bff") or ""
    await oauth_login(browser, bff)
    second = browser.cookies.get("bff") or ""
    assert not await alive(bff.url, first) and await alive(bff.url, second)
    await api_login(browser, bff.url)
    assert not await alive(bff.url, second)
    assert session_count(redis_url) == 1


async def test_only_the_session_held_at_the_login_navigation_is_ended(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient, redis_url: str
) -> None:
    bff = make_oauth_bff()
    # Another device of the same user keeps its session.
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as laptop:
        await api_login(laptop, bff.url)
        laptop_cookie = laptop.cookies.get("bff") or ""
    await api_login(browser, bff.url)
    held = browser.cookies.get("bff") or ""
    _, callback_url, _ = await to_callback(browser, bff)
    # The browser's session ended some other way meanwhile (a logout in another tab): nothing else is hit.
    assert (await browser.post(f"{bff.url}/auth/logout")).status_code == 204
    assert location(await browser.get(callback_url)) == "/"
    assert not await alive(bff.url, held)
    assert await alive(bff.url, laptop_cookie)
    assert session_count(redis_url) == 2


async def test_the_session_held_is_named_in_the_login_cookie_by_keyed_names_only(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff()
    await api_login(browser, bff.url)
    held = browser.cookies.get("bff") or ""
    listed = (await browser.get(f"{bff.url}/auth/sessions")).json()
    await browser.get(f"{bff.url}/auth/oauth/login")
    sealed = _unb64(browser.cookies.get("bff-oauth") or "")
    assert sealed is not None
    plain = unseal(Keyring([SECRET.encode()]).oauth_login_keys, sealed, _ASSOCIATED)
    assert plain is not None
    public_id, *indexes = json.loads(plain)["p"].split("/")
    assert public_id == listed[0]["id"]  # what /auth/sessions already shows the user
    assert indexes and all(re.fullmatch(r"u:[0-9a-f]{32}", index) for index in indexes)
    assert held not in plain.decode() and held.split(".")[0] not in plain.decode()
    assert "alice" not in plain.decode()  # neither the user's name nor id


async def test_both_logins_give_the_cookie_the_session_lifetime_capped_by_the_token(
    make_oauth_bff: OAuthBffFactory, sim: Sim, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_session_max_lifetime=7200)

    def max_age(response: httpx.Response) -> int:
        cookie = next(line for line in set_cookie_lines(response) if line.startswith("bff="))
        found = re.search(r"Max-Age=(\d+)", cookie)
        assert found is not None
        return int(found.group(1))

    assert max_age(await api_login(browser, bff.url)) == 7200
    assert max_age((await oauth_login(browser, bff)).callback) == 7200  # a refresh token: the session's own
    sim.post(f"/_sim/oauth/apps/{APP}", {"access_token_lifetime": 600, "issue_refresh_tokens": False})
    assert max_age((await oauth_login(browser, bff)).callback) == 600  # without one: the access token's
    # An API login's TokenLifetime caps it the same way: tests/e2e/test_login_federated.py.
