"""Every /auth answer, success or not, carries ``Cache-Control: no-store`` (over real HTTP)."""

from __future__ import annotations

import httpx
from fastapi.routing import APIRoute

from app.routes import login as login_routes
from app.routes import oauth
from app.routes import session as session_routes
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import answer, mechanism, ok, poll, start, start_oob
from tests.support.oauth_bff import OAuthBffFactory

#: (method, path template) -> the statuses this test sees there.
Seen = dict[tuple[str, str], set[int]]


def _check(seen: Seen, method: str, template: str, response: httpx.Response) -> httpx.Response:
    assert response.headers.get("cache-control") == "no-store", (method, template, response.status_code)
    assert response.headers.get_list("cache-control") == ["no-store"]
    seen.setdefault((method, template), set()).add(response.status_code)
    return response


async def test_every_auth_answer_is_no_store(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff()
    seen: Seen = {}
    async with (
        httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser,
        httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as other_device,
    ):
        # The login steps: a challenge, a pending push with its number, the user object.
        step = ok(
            _check(
                seen,
                "POST",
                "/auth/login",
                await browser.post("/auth/login", json={"username": "push@example.com"}),
            )
        )
        nxt = ok(
            _check(seen, "POST", "/auth/advance", await answer(browser, mechanism(step, "UP"), "push-pass-1"))
        )
        pending = ok(_check(seen, "POST", "/auth/advance", await start_oob(browser, mechanism(nxt, "OTP"))))
        assert pending["status"] == "pending" and pending["number"]
        assert ok(_check(seen, "POST", "/auth/poll", await poll(browser)))["status"] == "pending"
        sim.approve("push@example.com")
        done = ok(_check(seen, "POST", "/auth/poll", await poll(browser)))
        assert done["status"] == "authenticated" and done["user"]["username"] == "push@example.com"

        # The session, the listing, ending another session.
        session = _check(seen, "GET", "/auth/session", await browser.get("/auth/session"))
        assert session.status_code == 200 and session.json()["user"]["username"] == "push@example.com"
        other_step = await start(other_device, "push@example.com")
        other_next = ok(await answer(other_device, mechanism(other_step, "UP"), "push-pass-1"))
        ok(await start_oob(other_device, mechanism(other_next, "OTP")))
        sim.approve("push@example.com")
        assert ok(await poll(other_device))["status"] == "authenticated"
        listing = _check(seen, "GET", "/auth/sessions", await browser.get("/auth/sessions"))
        assert listing.status_code == 200 and len(listing.json()) == 2
        other_id = next(item["id"] for item in listing.json() if not item["current"])
        revoked = await browser.delete(f"/auth/sessions/{other_id}")
        assert _check(seen, "DELETE", "/auth/sessions/{session_id}", revoked).status_code == 204
        unknown = await browser.delete(f"/auth/sessions/{other_id}")
        assert _check(seen, "DELETE", "/auth/sessions/{session_id}", unknown).status_code == 404

        # Cancelling a login in progress, and logging out.
        await start(browser, "alice@example.com")
        assert (
            _check(seen, "POST", "/auth/cancel", await browser.post("/auth/cancel", json={})).status_code
            == 204
        )
        assert (
            _check(seen, "POST", "/auth/logout", await browser.post("/auth/logout", json={})).status_code
            == 204
        )

        # Refusals too (they always were: the error answer's own header, not added twice).
        gone = _check(seen, "GET", "/auth/session", await browser.get("/auth/session"))
        assert gone.status_code == 401
        assert _check(seen, "GET", "/auth/sessions", await browser.get("/auth/sessions")).status_code == 401
        assert _check(seen, "POST", "/auth/poll", await poll(browser)).status_code == 409

    routes = {
        (method, route.path)
        for route in (*login_routes.router.routes, *session_routes.router.routes)
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert set(seen) == routes  # every /auth route was asked, none forgotten when one is added


async def test_every_oauth_answer_is_no_store(make_oauth_bff: OAuthBffFactory) -> None:
    bff = make_oauth_bff()
    seen: Seen = {}
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as browser:
        options = _check(seen, "GET", "/auth/options", await browser.get("/auth/options"))
        assert options.status_code == 200
        start = _check(seen, "GET", "/auth/oauth/login", await browser.get("/auth/oauth/login"))
        assert start.status_code == 302  # the authorize redirect, with the sealed login cookie
        refused = await browser.get("/auth/oauth/login", params={"return_to": "//evil.example"})
        assert _check(seen, "GET", "/auth/oauth/login", refused).status_code == 400
        back = await browser.get("/auth/oauth/callback", params={"code": "x", "state": "not-ours"})
        assert _check(seen, "GET", "/auth/oauth/callback", back).status_code == 302

    routes = {
        (method, route.path)
        for route in oauth.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert set(seen) == routes
