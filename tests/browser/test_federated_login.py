"""A federated user's whole login in Chromium: the IdP's page in a window of its own, polling, and the PIN."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim


def _start(context: BrowserContext, spa_bff: ServerThread, username: str) -> tuple[Spa, Page]:
    """Sign-in with ``username``; the SPA opens the identity provider's page: that window."""
    spa = Spa(context.new_page()).open(spa_bff.url + "/")
    with context.expect_page() as opened:
        spa.username(username)
    idp = opened.value
    idp.wait_for_load_state()
    return spa, idp


def _status_calls(sim: Sim) -> int:
    return sum(1 for call in sim.calls() if call["path"] == "/Security/OobAuthStatus")


def test_federated_login_finished_at_the_idp_page_while_the_spa_polls(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    spa, idp = _start(context, spa_bff, "fed@partner.example")
    assert re.fullmatch(re.escape(sim.url) + r"/u/[A-Za-z0-9_-]+", idp.url), idp.url
    page = spa.page
    expect(page.locator("#view-redirect")).to_be_visible()
    expect(page.locator("#redirect-text")).to_have_text(
        "Sign in at your identity provider in the window that opened."
    )
    expect(page.get_by_role("link", name="Open the sign-in page")).to_have_attribute("href", idp.url)
    expect(page.locator("#pin-form")).to_be_hidden()
    shots.take(page, "waiting")
    # The SPA keeps polling while the user is away in the other window.
    page.wait_for_timeout(2500)
    assert _status_calls(sim) >= 1

    expect(idp.get_by_text("Sign in as fed@partner.example?")).to_be_visible()
    idp.get_by_role("button", name="Sign in").click()
    expect(idp.locator("#done")).to_be_visible()
    shots.take(idp, "idp-signed-in")

    spa.expect_home("fed@partner.example", timeout=15_000)
    expect(page.locator("#user-username")).to_have_text("fed@partner.example")
    expect(page.locator("#apps li").first).to_be_visible()  # a proxied call with the federated bearer
    shots.take(page, "home")
    spa.logout()
    assert problems.errors == []


def test_federated_login_with_the_pin_the_idp_page_shows(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    spa, idp = _start(context, spa_bff, "fedpin@partner.example")
    page = spa.page
    field = page.get_by_label("PIN shown by your identity provider")
    expect(field).to_be_visible()
    expect(page.locator("#redirect-text")).to_contain_text("then enter the PIN it shows")

    idp.get_by_role("button", name="Sign in").click()
    pin = idp.locator("#pin")
    expect(pin).to_have_text(re.compile(r"^\d{6}$"))
    shots.take(idp, "idp-pin")
    # Still polling (the tenant answers Pending until the PIN comes), and the field keeps what is typed.
    field.fill(pin.inner_text())
    page.wait_for_timeout(2500)
    expect(field).to_have_value(pin.inner_text())
    assert _status_calls(sim) >= 1
    page.locator("#pin-form").get_by_role("button", name="Continue").click()

    spa.expect_home("Pia Pin")
    answers = [c["json"] for c in sim.calls() if c["path"] == "/Security/AdvanceAuthentication"]
    assert [a["MechanismId"] for a in answers] == ["OOBAUTHPIN"]
    shots.take(page, "home")
    assert problems.errors == []


def test_a_wrong_pin_starts_over(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    spa, idp = _start(context, spa_bff, "fedpin@partner.example")
    idp.get_by_role("button", name="Sign in").click()
    expect(idp.locator("#pin")).to_be_visible()
    wrong = "000000" if idp.locator("#pin").inner_text() != "000000" else "111111"
    spa.page.get_by_label("PIN shown by your identity provider").fill(wrong)
    spa.page.locator("#pin-form").get_by_role("button", name="Continue").click()
    spa.expect_signed_out()
    expect(spa.error).to_have_text("Sign-in failed. Check what you entered and start again.")
    assert problems.errors == []
