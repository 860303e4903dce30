"""An OAuth login that lands back in an SPA of another listed origin, over real HTTP; so do its failures."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.oauth_bff import OAuthBffFactory, location, oauth_login, to_callback

pytestmark = pytest.mark.usefixtures("sim")

SPA = "http://127.0.0.1:5173"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


async def test_the_login_ends_on_the_listed_origin_that_started_it(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_allowed_origins=SPA)
    walk = await oauth_login(browser, bff, return_to=f"{SPA}/after?x=1")
    assert location(walk.callback) == f"{SPA}/after?x=1"
    session = await browser.get(f"{bff.url}/auth/session")
    assert session.status_code == 200 and session.json()["login"] == "oauth"


async def test_a_failed_login_lands_on_that_origins_error_page(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_allowed_origins=SPA)
    _, callback_url, _ = await to_callback(browser, bff, return_to=f"{SPA}/after", cancel=True)
    assert location(await browser.get(callback_url)) == f"{SPA}/?login_error=access_denied"
    # Without a live login cookie nothing says where the login meant to end: the BFF's own page.
    assert location(await browser.get(callback_url)) == "/?login_error=state_mismatch"


async def test_urls_on_other_origins_stay_refused(
    make_oauth_bff: OAuthBffFactory, browser: httpx.AsyncClient
) -> None:
    bff = make_oauth_bff(bff_allowed_origins=SPA)
    for value in (
        "http://127.0.0.1:5174/",
        "http://localhost:5173/",
        "https://127.0.0.1:5173/",
        "http://user@127.0.0.1:5173/",
        "http://127.0.0.1:5173@evil.example/",
        "http://127.0.0.1:5173/\tx",
        bff.url + "/",  # the BFF's own origin is not listed: a local path says it
    ):
        answer = await browser.get(f"{bff.url}/auth/oauth/login", params={"return_to": value})
        assert answer.status_code == 400, value
        assert answer.json()["error"] == "invalid_request"
        assert "set-cookie" not in answer.headers
