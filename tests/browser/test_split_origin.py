"""An SPA on another origin of the same site as the BFF, in Chromium (api.md §2, "Another origin").

Two ports on 127.0.0.1 are two origins of one site: the SPA at ``https://127.0.0.1:A``, the BFF at
``https://127.0.0.1:B`` with ``BFF_ALLOWED_ORIGINS=https://127.0.0.1:A``. The page (tests/browser/split_spa)
calls the BFF with credentials and ``X-CSRF``: an API login with push, a proxied call, the sessions list,
logout, and an OAuth login that returns to the SPA's origin. The same page served from a third, unlisted
origin is blocked by the browser itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import SECRET
from tests.browser.test_oauth_login import sign_in_at_the_tenant
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.oauth_bff import APP, CLIENT_ID, CLIENT_SECRET
from tests.support.ports import free_port

PAGE = Path(__file__).parent / "split_spa"
PUSH = "push@example.com"


def _static(tls_files: dict[str, str]) -> ServerThread:
    app = Starlette()
    app.mount("/", StaticFiles(directory=PAGE, html=True))
    return ServerThread(app, ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"])


@pytest.fixture
def spa_origin(tls_files: dict[str, str]) -> Iterator[ServerThread]:
    with _static(tls_files) as server:
        yield server


@pytest.fixture
def stranger_origin(tls_files: dict[str, str]) -> Iterator[ServerThread]:
    with _static(tls_files) as server:
        yield server


@pytest.fixture
def split_bff(
    sim_server: ServerThread, sim: Sim, redis_url: str, tls_files: dict[str, str], spa_origin: ServerThread
) -> Iterator[ServerThread]:
    """The BFF over https (Secure ``__Host-`` cookies), both login modes, the SPA's origin listed."""
    port = free_port()
    public = f"https://127.0.0.1:{port}"
    sim.post(f"/_sim/oauth/apps/{APP}", {"redirect_uris": [f"{public}/auth/oauth/callback"]})
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_allowed_origins=spa_origin.url,
        bff_poll_min_interval=0,
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


def call(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """One fetch from the page's own script: its answer, or ``{"blocked": ...}`` when CORS refused it."""
    args = [method, path] if body is None else [method, path, body]
    result: dict[str, Any] = page.evaluate("(args) => window.call(...args)", args)
    return result


def mechanism(step: dict[str, Any], name: str) -> str:
    return next(m["id"] for m in step["challenge"]["mechanisms"] if m["name"] == name)


def open_spa(context: BrowserContext, origin: ServerThread, bff: ServerThread) -> Page:
    page = context.new_page()
    page.goto(f"{origin.url}/index.html?bff={bff.url}")
    page.wait_for_function("() => typeof window.call === 'function'")
    return page


def test_an_spa_on_another_origin_signs_in_calls_the_api_and_signs_out(
    context: BrowserContext, split_bff: ServerThread, spa_origin: ServerThread, sim: Sim
) -> None:
    page = open_spa(context, spa_origin, split_bff)

    step = call(page, "POST", "/auth/login", {"username": PUSH})
    assert step["status"] == 200, step
    step = call(
        page, "POST", "/auth/advance", {"mechanism": mechanism(step["body"], "UP"), "answer": "push-pass-1"}
    )
    assert step["status"] == 200 and step["body"]["status"] == "challenge", step
    step = call(
        page, "POST", "/auth/advance", {"mechanism": mechanism(step["body"], "OTP"), "action": "start_oob"}
    )
    assert step["body"]["status"] == "pending" and step["body"].get("number"), step
    sim.approve(PUSH)
    step = call(page, "POST", "/auth/poll", {})
    assert step["body"]["status"] == "authenticated", step
    assert step["body"]["user"]["username"] == PUSH

    apps = call(page, "POST", "/api/UPRest/GetUPData", {})
    assert apps["status"] == 200 and apps["body"]["success"] is True, apps
    assert apps["requestId"]  # an exposed header the page's script can read

    sessions = call(page, "GET", "/auth/sessions")
    assert sessions["status"] == 200 and [s["current"] for s in sessions["body"]] == [True], sessions

    assert call(page, "POST", "/auth/logout")["status"] == 204
    after = call(page, "GET", "/auth/session")
    # An error answer is readable too: the SPA learns it is signed out, not that the network failed.
    assert after["status"] == 401 and after["body"]["error"] == "unauthenticated", after
    assert page.evaluate("() => document.cookie") == ""


def test_an_oauth_login_returns_to_the_spas_origin(
    context: BrowserContext, split_bff: ServerThread, spa_origin: ServerThread, sim: Sim
) -> None:
    page = open_spa(context, spa_origin, split_bff)
    page.get_by_role("link", name="Sign in with CyberArk").click()
    sign_in_at_the_tenant(page)
    page.wait_for_url(f"{spa_origin.url}/after.html")
    page.wait_for_function("() => typeof window.call === 'function'")
    session = call(page, "GET", "/auth/session")
    assert session["status"] == 200 and session["body"]["login"] == "oauth", session
    assert call(page, "POST", "/api/UPRest/GetUPData", {})["status"] == 200


def test_a_failed_oauth_login_lands_on_the_spas_origin(
    context: BrowserContext, split_bff: ServerThread, spa_origin: ServerThread, sim: Sim
) -> None:
    page = open_spa(context, spa_origin, split_bff)
    page.get_by_role("link", name="Sign in with CyberArk").click()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(f"{spa_origin.url}/?login_error=access_denied")
    expect(page.get_by_role("alert")).to_have_text("access_denied")


def test_the_same_page_from_an_unlisted_origin_is_blocked_by_the_browser(
    context: BrowserContext, split_bff: ServerThread, stranger_origin: ServerThread, sim: Sim
) -> None:
    page = open_spa(context, stranger_origin, split_bff)
    for method, path, body in (
        ("POST", "/auth/login", {"username": PUSH}),
        ("GET", "/auth/session", None),
        ("POST", "/api/UPRest/GetUPData", {}),
    ):
        answer = call(page, method, path, body)
        assert "blocked" in answer, (path, answer)
    assert [c for c in sim.calls() if "StartAuthentication" in c["path"]] == []
