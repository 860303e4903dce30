"""What the SPA refuses to do with tenant data, and the CSP that backs it, in Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.conftest import PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim

HOSTILE_NAME = '<img src=x id="pwned-name"><b>Eve</b>'


def _hostile_user(**extra: Any) -> dict[str, Any]:
    return {
        "username": "eve@example.com",
        "password": "eve-pass-1",
        "display_name": HOSTILE_NAME,
        "challenges": [["UP"]],
        **extra,
    }


def test_tenant_text_is_shown_as_text_never_as_html(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    sim.post("/_sim/users", _hostile_user())
    page = context.new_page()
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("eve@example.com").answer("Password", "eve-pass-1")
    spa.expect_home(HOSTILE_NAME)
    expect(spa.status).to_have_text(f"Signed in as {HOSTILE_NAME}.")
    assert page.locator("#pwned-name").count() == 0
    assert page.locator("main b").count() == 0
    shots.take(page, "hostile-name")
    assert problems.errors == []


def test_only_http_urls_from_the_tenant_become_links_or_images(
    context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    apps = [
        {"AppKey": "a1", "Name": "Good", "DisplayName": "Good App", "Url": "https://good.example/start",
         "Icon": "https://good.example/icon.png"},
        {"AppKey": "a2", "Name": "Script", "DisplayName": "Script App", "Url": "javascript:alert(1)",
         "Icon": "javascript:alert(2)"},
        {"AppKey": "a3", "Name": "Data", "DisplayName": "Data App",
         "Url": "data:text/html,<script>1</script>"},
        {"AppKey": "a4", "Name": "Relative", "DisplayName": "Relative App", "Url": "/auth/logout",
         "Icon": "/vfslow/lib/application/icons/x.png"},
        {"AppKey": "a5", "Name": "Html", "DisplayName": '<a id="pwned-app" href="https://evil.example">x</a>'},
    ]  # fmt: skip
    sim.post("/_sim/users", _hostile_user(apps=apps))
    page = context.new_page()
    # Keep the page off the network for the tenant's icon host: the test must not depend on the internet.
    page.route("https://good.example/**", lambda route: route.fulfill(status=204))
    spa = Spa(page).open(spa_bff.url + "/")
    spa.username("eve@example.com").answer("Password", "eve-pass-1")
    spa.expect_home(HOSTILE_NAME)

    items = page.locator("#apps li")
    expect(items).to_have_count(5)
    expect(items).to_have_text(
        [
            "Good App",
            "Script App",
            "Data App",
            "Relative App",
            '<a id="pwned-app" href="https://evil.example">x</a>',
        ]
    )
    links = page.locator("#apps a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://good.example/start")
    expect(links).to_have_attribute("rel", "noopener noreferrer")
    icons = page.locator("#apps img")
    expect(icons).to_have_count(1)
    expect(icons).to_have_attribute("src", "https://good.example/icon.png")
    assert page.locator("#pwned-app").count() == 0
    shots.take(page, "apps")
    assert problems.errors == []


def test_the_csp_blocks_inline_script(context: BrowserContext, spa_bff: ServerThread) -> None:
    page = context.new_page()
    Spa(page).open(spa_bff.url + "/").expect_signed_out()
    # What an injection would try: a script element with inline code, added at run time.
    violated = page.evaluate(
        """() => new Promise((resolve) => {
          window.inlineRan = false;
          document.addEventListener("securitypolicyviolation", (e) => resolve(e.effectiveDirective));
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true";
          document.body.appendChild(script);
          setTimeout(() => resolve(null), 2000);
        })"""
    )
    assert violated == "script-src-elem"
    assert page.evaluate("() => window.inlineRan") is False


def test_revoking_another_session_signs_that_browser_out(
    chromium: Browser, context: BrowserContext, spa_bff: ServerThread, sim: Sim, shots: Shots
) -> None:
    other_context = chromium.new_context()
    try:
        other = Spa(other_context.new_page()).open(spa_bff.url + "/")
        other.username("alice@example.com").answer("Password", "alice-pass-1").expect_home("Alice Password")

        page = context.new_page()
        spa = Spa(page).open(spa_bff.url + "/")
        spa.username("alice@example.com").answer("Password", "alice-pass-1").expect_home("Alice Password")
        rows = page.locator("#sessions-body tr")
        expect(rows).to_have_count(2)
        expect(page.locator('#sessions-body tr[data-current="true"]')).to_have_count(1)
        shots.take(page, "two-sessions")

        page.locator('#sessions-body tr[data-current="false"]').get_by_role("button", name="Revoke").click()
        expect(spa.status).to_have_text("Session revoked.")
        expect(rows).to_have_count(1)
        expect(rows).to_contain_text("this session")
        shots.take(page, "one-session")

        other.page.reload()
        other.expect_signed_out()

        # Ending the current session from the list signs this browser out.
        page.get_by_role("button", name="End this session").click()
        spa.expect_signed_out()
        expect(spa.status).to_have_text("This session has ended.")
        assert context.cookies() == []
    finally:
        other_context.close()
