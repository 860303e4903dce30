"""Drive the BFF's /auth login steps over real HTTP, the way the SPA does (helpers for tests/e2e)."""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from typing import Any

import httpx


def password(username: str) -> str:
    """The example users' password: ``<local part>-pass-1``."""
    return username.split("@", 1)[0] + "-pass-1"


def mechanism(step: dict[str, Any], name: str) -> dict[str, Any]:
    """The mechanism called ``name`` in a challenge step."""
    assert step["status"] == "challenge", step
    for mech in step["challenge"]["mechanisms"]:
        if mech["name"] == name:
            return dict(mech)
    raise AssertionError(f"no {name} in {step}")


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The JSON of ``response``, which must have ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    return body


async def start(browser: httpx.AsyncClient, username: str) -> dict[str, Any]:
    return ok(await browser.post("/auth/login", json={"username": username}))


async def answer(browser: httpx.AsyncClient, mech: dict[str, Any], value: Any) -> httpx.Response:
    return await browser.post("/auth/advance", json={"mechanism": mech["id"], "answer": value})


async def start_oob(browser: httpx.AsyncClient, mech: dict[str, Any]) -> httpx.Response:
    return await browser.post("/auth/advance", json={"mechanism": mech["id"], "action": "start_oob"})


async def poll(browser: httpx.AsyncClient) -> httpx.Response:
    return await browser.post("/auth/poll", json={})


async def login_password(
    browser: httpx.AsyncClient, username: str, secret: str | None = None
) -> dict[str, Any]:
    """A whole UP-only login; returns the authenticated step."""
    step = await start(browser, username)
    done = ok(await answer(browser, mechanism(step, "UP"), secret or password(username)))
    assert done["status"] == "authenticated", done
    return done


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str]]:
    """Each Set-Cookie of ``response`` by name: ``{"value": ..., "<attribute lower-case>": ...}``.

    Flags (HttpOnly, Secure) appear with the value ``"true"``; absent attributes are absent keys.
    """
    found: dict[str, dict[str, str]] = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        value, *attributes = rest.split(";")
        entry = {"value": value.strip(), "raw": header}
        for attribute in attributes:
            key, sep, attr_value = attribute.strip().partition("=")
            entry[key.lower()] = attr_value if sep else "true"
        found[name.strip()] = entry
    return found


def cookie_value(response: httpx.Response, name: str) -> str:
    """The value ``response`` sets for cookie ``name`` (parsed as a browser would)."""
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar[name].value


class Clock:
    """A clock a test moves by hand: ``clock = Clock(); make_bff(clock=clock); clock.advance(301)``."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
