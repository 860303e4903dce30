"""The OAuth login in Chromium: the SPA's "Sign in with CyberArk", the simulator's sign-in page, /api, logout
with the tenant's sign-out link, and no token within reach of page scripts; the API login beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import SECRET, WEB, PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import ALICE, ALICE_PASSWORD, APP, CLIENT_ID, CLIENT_SECRET
from tests.support.ports import free_port


@pytest.fixture
def oauth_spa_bff(
    sim_server: ServerThread, sim: Sim, redis_url: str, tls_files: dict[str, str]
) -> Iterator[ServerThread]:
    """The BFF over https (Secure, ``__Host-`` cookies) with both login modes, serving web/."""
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    sim.post(f"/_sim/oauth/apps/{APP}", {"redirect_uris": [f"{public}/auth/oauth/callback"]})
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_static_dir=WEB,
        bff_login_modes="api,oauth",
        bff_public_url=public,
        cyberark_oauth_app_id=APP,
        cyberark_oauth_client_id=CLIENT_ID,
        cyberark_oauth_client_secret=CLIENT_SECRET,
    )
    with ServerThread(
        create_app(settings), port=port, ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]
    ) as server:
        yield server


def sign_in_at_the_tenant(page: Page, user: str = ALICE, password: str = ALICE_PASSWORD) -> None:
    expect(page.get_by_label("User name")).to_be_visible()
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_with_cyberark_call_api_and_sign_out(
    context: BrowserContext,
    oauth_spa_bff: ServerThread,
    sim: Sim,
    sim_server: ServerThread,
    shots: Shots,
    problems: PageProblems,
) -> None:
    page = context.new_page()
    spa = Spa(page).open(oauth_spa_bff.url + "/")
    spa.expect_signed_out()
    link = page.get_by_role("link", name="Sign in with CyberArk")
    expect(link).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()  # the API login beside it
    shots.take(page, "both-modes")

    link.click()
    page.wait_for_url(f"{sim_server.url}/OAuth2/Authorize/**")
    shots.take(page, "tenant-sign-in")
    sign_in_at_the_tenant(page)
    spa.expect_home("Alice Password")
    expect(page.locator("#apps li").first).to_be_visible()  # /api/UPRest/GetUPData with the access token
    shots.take(page, "home")

    # No token is within reach of page scripts: the only cookies are HttpOnly, and none reach the page.
    assert page.evaluate("() => document.cookie") == ""
    cookies = {c["name"]: c for c in context.cookies(oauth_spa_bff.url)}
    assert set(cookies) == {"__Host-bff"}
    assert cookies["__Host-bff"]["httpOnly"] and cookies["__Host-bff"]["secure"]
    assert cookies["__Host-bff"]["sameSite"] == "Strict"
    storage = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert storage == "[[],[]]"
    tokens = [c["headers"]["authorization"] for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    bearer = tokens[0].removeprefix("Bearer ")
    assert bearer not in page.content()
    assert all(bearer not in c["value"] for c in context.cookies())

    spa.logout()
    expect(spa.status).to_have_text("You are signed out.")
    tenant_link = page.get_by_role("link", name="sign out of CyberArk too")
    expect(tenant_link).to_be_visible()
    href = tenant_link.get_attribute("href") or ""
    assert href.startswith(f"{sim_server.url}/OAuth2/EndSession/{APP}?post_logout_redirect_uri=")
    revokes = [c for c in sim.calls() if c["path"] == f"/OAuth2/Revoke/{APP}"]
    assert len(revokes) == 2
    shots.take(page, "signed-out")

    tenant_link.click()
    page.wait_for_url(oauth_spa_bff.url + "/")
    spa.expect_signed_out()
    # The tenant's own session is over too: the next OAuth sign-in asks the password again.
    page.get_by_role("link", name="Sign in with CyberArk").click()
    expect(page.get_by_label("User name")).to_be_visible()
    assert problems.errors == []


def test_a_cancelled_tenant_sign_in_comes_back_with_a_message(
    context: BrowserContext, oauth_spa_bff: ServerThread, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    spa = Spa(page).open(oauth_spa_bff.url + "/")
    page.get_by_role("link", name="Sign in with CyberArk").click()
    expect(page.get_by_label("User name")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    spa.expect_signed_out()
    expect(spa.error).to_have_text("Sign-in was cancelled at CyberArk.")
    assert "login_error" not in page.url  # taken out of the address bar once shown
    assert context.cookies(oauth_spa_bff.url) == []
    shots.take(page, "cancelled")
    assert problems.errors == []


def test_the_api_login_works_beside_the_oauth_one(
    context: BrowserContext, oauth_spa_bff: ServerThread, sim_server: ServerThread, problems: PageProblems
) -> None:
    api_page = context.browser.new_context() if context.browser else None
    assert api_page is not None
    try:
        spa = Spa(api_page.new_page()).open(oauth_spa_bff.url + "/")
        spa.username("alice@example.com").answer("Password", "alice-pass-1").expect_home("Alice Password")
        expect(spa.page.locator("#apps li").first).to_be_visible()

        page = context.new_page()
        oauth = Spa(page).open(oauth_spa_bff.url + "/")
        page.get_by_role("link", name="Sign in with CyberArk").click()
        sign_in_at_the_tenant(page)
        oauth.expect_home("Alice Password")
        # The API session lists the OAuth one beside itself.
        spa.page.reload()
        expect(spa.page.locator("#sessions-body tr")).to_have_count(2)
        assert spa.page.evaluate("() => document.cookie") == ""

        spa.logout()  # the API session: 204, no tenant sign-out link
        expect(spa.status).to_have_text("You are signed out.")
        expect(spa.page.locator("#tenant-signout")).to_be_hidden()
        page.reload()
        oauth.expect_home("Alice Password")  # the OAuth session lives on
    finally:
        api_page.close()
    assert problems.errors == []


def test_a_rate_limited_callback_comes_back_with_a_message_to_wait(
    context: BrowserContext, oauth_spa_bff: ServerThread, problems: PageProblems
) -> None:
    # Where the callback sends the browser when its address is past the login limit.
    page = context.new_page()
    spa = Spa(page).open(oauth_spa_bff.url + "/?login_error=rate_limited")
    spa.expect_signed_out()
    expect(spa.error).to_have_text(
        "Too many sign-in attempts from this network. Wait a minute and try again."
    )
    assert "login_error" not in page.url
    assert problems.errors == []
