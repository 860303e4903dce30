"""The whole login in Chromium over https: password, then a push with a number; what page scripts see."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import BrowserContext, Response, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim

DEMO = "demo@example.com"

# What any script of the page can read: the non-HttpOnly cookies and both web storages.
_PAGE_SECRETS = """() => JSON.stringify({
  cookie: document.cookie,
  local: Object.entries(localStorage),
  session: Object.entries(sessionStorage),
})"""


def _bearer_tokens(calls: list[dict[str, Any]]) -> set[str]:
    tokens = set()
    for call in calls:
        value = call["headers"].get("authorization", "")
        if value.startswith("Bearer "):
            tokens.add(value.removeprefix("Bearer "))
    return tokens


def test_push_login_keeps_every_token_out_of_page_scripts(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    seen: list[Response] = []
    page.on("response", lambda response: seen.append(response))
    spa = Spa(page).open(spa_bff.url + "/")
    shots.take(page, "sign-in")

    spa.username(DEMO)
    spa.answer("Password", "Demo-pass-1")
    spa.choose("Mobile Authenticator")
    number = page.locator("#pending-number")
    expect(number).to_be_visible()
    expect(number).to_have_text(re.compile(r"^\d{2}$"))
    expect(spa.status).to_contain_text(number.inner_text())
    # "Show the number big": a person must read it at a glance, next to a phone.
    assert float(number.evaluate("n => parseFloat(getComputedStyle(n).fontSize)")) >= 48
    shots.take(page, "push-number")

    sim.approve(DEMO)
    spa.expect_home("Demo User")
    expect(page.locator("#apps li")).to_have_count(10)  # GetUPData through /api, ten apps
    expect(page.locator("#sessions-body tr")).to_have_count(1)
    expect(page.locator("#sessions-body tr")).to_contain_text("this session")
    shots.take(page, "home")

    # The session cookie as the browser stores it: the production flags, host-only.
    cookies = context.cookies()
    assert [c["name"] for c in cookies] == ["__Host-bff"]
    cookie = cookies[0]
    assert cookie["httpOnly"] is True
    assert cookie["secure"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/"
    assert cookie["domain"] == "127.0.0.1"  # no leading dot: host-only, no Domain attribute

    # What page scripts can read, and what the BFF ever answered to the page, while signed in.
    readable = page.evaluate(_PAGE_SECRETS)
    assert json.loads(readable) == {"cookie": "", "local": [], "session": []}
    calls = [r for r in seen if "/auth/" in r.url or "/api/" in r.url]
    bodies = [r.text() for r in calls if r.status not in (204, 304)]
    assert bodies, "the page made no /auth or /api calls?"
    everything_seen = readable + page.content() + "".join(bodies)
    assert cookie["value"] not in everything_seen

    # A second tab of the same browser shares the session...
    second = Spa(context.new_page()).open(spa_bff.url + "/")
    second.expect_home("Demo User")

    spa.logout()
    expect(spa.status).to_have_text("You are signed out.")
    shots.take(page, "signed-out")
    assert context.cookies() == []

    # ...and its next /auth call finds it signed out too; so does a reload.
    second.page.get_by_role("button", name="Refresh sessions").click()
    second.expect_signed_out()
    expect(second.error).to_have_text("You are signed out. Sign in again.")
    shots.take(second.page, "second-tab-signed-out")
    second.page.reload()
    second.expect_signed_out()

    # The tenant's real token (.ASPXAUTH, sent as the bearer of the BFF's calls) never reached the page.
    tokens = _bearer_tokens(sim.calls())
    assert tokens, "the BFF made no bearer call (logout at least should have)"
    for token in tokens:
        assert len(token) > 16
        assert token not in everything_seen
    assert problems.errors == []
