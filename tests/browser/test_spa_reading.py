"""The demo SPA reads well in Chromium: each prompt once, the push number as one number, a short browser name
in the sessions table, how to approve the demo push, and a favicon rather than a 404."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Response, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim

DEMO = "demo@example.com"


def test_the_login_pages_read_well(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    failed: list[str] = []

    def note(response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/auth/session"):  # 401: not signed in yet
            failed.append(f"{response.status} {response.url}")

    page.on("response", note)
    spa = Spa(page).open(spa_bff.url + "/")

    # A favicon the page names and the server has (not the browser's guess at /favicon.ico, a 404).
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon is not None
    status, kind = page.evaluate(
        "async href => { const r = await fetch(href); return [r.status, r.headers.get('content-type')]; }",
        icon,
    )
    assert status == 200 and kind.startswith("image/svg+xml")

    spa.username(DEMO)
    field = page.locator("#answer-form").get_by_label("Password", exact=True)
    expect(field).to_be_visible()
    prompt = page.locator("#answer-prompt").inner_text()
    assert prompt
    # Shown once, next to its field (and tied to it for screen readers), not again in the status line.
    assert page.locator("body").inner_text().count(prompt) == 1
    assert field.get_attribute("aria-describedby") == "answer-prompt"
    shots.take(page, "password")

    spa.answer("Password", "Demo-pass-1")
    spa.choose("Mobile Authenticator")
    number = page.locator("#pending-number")
    expect(number).to_have_text(re.compile(r"^\d{2}$"))
    # One number: no letter spacing that splits "85" into "8 5".
    assert number.evaluate("n => getComputedStyle(n).letterSpacing") in ("normal", "0px")
    hint = page.locator("#demo-approve")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(f"/_sim/oob/{DEMO}/approve")
    # Once on the screen: the status line announces the number to screen readers without showing it again.
    expect(spa.status).to_contain_text(number.inner_text())
    expect(spa.status).to_have_class(re.compile(r"\bvisually-hidden\b"))
    shots.take(page, "push")

    sim.approve(DEMO)
    spa.expect_home("Demo User")
    cell = page.locator("#sessions-body tr td").nth(2)
    expect(cell).to_have_text(re.compile(r"^(Headless )?Chrome \d+ on Linux$"))
    assert (cell.get_attribute("title") or "").startswith("Mozilla/5.0")
    shots.take(page, "home")
    assert failed == []
    assert problems.errors == []
