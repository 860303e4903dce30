"""The SPA with a choice of mechanisms and a tenant lockout, in Chromium over https."""

from __future__ import annotations

import re
import time

from playwright.sync_api import BrowserContext, Route, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim


def _code(sim: Sim, username: str) -> str:
    """The last EMAIL/SMS code the simulator sent, once it has sent one."""
    deadline = time.monotonic() + 5
    while True:
        response = sim.http.get(f"/_sim/code/{username}")
        if response.status_code == 200:
            return str(response.json()["code"])
        assert time.monotonic() < deadline, "no code was sent"
        time.sleep(0.05)


def test_email_code_typed_into_the_pending_screen_signs_in(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("demo@example.com").answer("Password", "Demo-pass-1")
    choice = page.get_by_role("group", name="Choose how to verify")
    expect(choice.get_by_role("button")).to_have_text(["Mobile Authenticator", re.compile(r"^Email\.\.\. ")])
    shots.take(page, "choose")

    spa.choose("Email")
    expect(page.locator("#pending-prompt")).to_have_text(
        "Click the link in the email, or enter the code it contains"
    )
    expect(page.locator("#pending-number-box")).to_be_hidden()
    expect(page.get_by_label("Or enter the code you received")).to_be_visible()
    shots.take(page, "email-pending")

    spa.code(_code(sim, "demo@example.com"))
    spa.expect_home("Demo User")
    shots.take(page, "home")
    assert problems.errors == []


def test_tenant_lockout_shows_how_long_to_wait(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    sim.post("/_sim/config", {"lockout_threshold": 1, "lockout_seconds": 45})
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("alice@example.com").answer("Password", "wrong")
    expect(spa.error).to_contain_text("Sign-in failed")

    spa.username("alice@example.com")
    expect(spa.error).to_have_text(re.compile(r"^Too many attempts\. Try again in (4[0-5]) seconds\.$"))
    expect(spa.sign_in).to_be_visible()
    shots.take(page, "rate-limited")
    assert problems.errors == []


def test_choosing_another_method_stops_the_poll_in_flight(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    page = context.new_page()
    held: list[Route] = []
    page.route("**/auth/poll", lambda route: held.append(route))
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("demo@example.com").answer("Password", "Demo-pass-1").choose("Mobile Authenticator")
    deadline = time.monotonic() + 5
    while not held:
        assert time.monotonic() < deadline, "the SPA never polled"
        page.wait_for_timeout(50)

    # The user leaves the push while its poll is on the wire; the poll's answer must not revive polling.
    page.get_by_role("button", name="Choose another method").click()
    expect(page.get_by_role("group", name="Choose how to verify")).to_be_visible()
    held[0].continue_()
    page.wait_for_timeout(3 * 1000)
    assert len(held) == 1, "polling went on behind the list of methods"
    page.unroute("**/auth/poll")
    expect(page.locator("#pending")).to_be_hidden()

    spa.choose("Email")
    spa.code(_code(sim, "demo@example.com"))
    spa.expect_home("Demo User")
    assert problems.errors == []
