"""The OAuth login over real HTTP: BFFs with ``oauth`` on against the simulator's demo app; a browser's walk.

``make_oauth_bff(**overrides)`` starts a BFF on a port chosen first (its ``BFF_PUBLIC_URL`` and the
``redirect_uri`` the simulator must list are built from it) and registers that redirect URI at the simulator.
``oauth_login(browser, bff, sim)`` walks the whole code flow the way a browser does, one redirect at a time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, Sim
from tests.support.ports import free_port

APP = "bff-demo"
CLIENT_ID = "bff-demo-client"
CLIENT_SECRET = "bff-demo-secret-1"
ALICE = "alice@example.com"
ALICE_PASSWORD = "alice-pass-1"


class Clock:
    """A wall clock a test can push forward: ``clock.advance(301)``."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def oauth_values(port: int, sim_url: str, redis_url: str | None, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "cyberark_tenant_url": sim_url,
        "bff_redis_url": redis_url,
        "bff_session_secrets": SECRET,
        "bff_cookie_secure": False,
        "bff_poll_min_interval": 0,
        "bff_login_rate_limit": "100000/60,100000/60",
        "bff_login_modes": "api,oauth",
        "bff_public_url": f"http://127.0.0.1:{port}",
        "cyberark_oauth_app_id": APP,
        "cyberark_oauth_client_id": CLIENT_ID,
        "cyberark_oauth_client_secret": CLIENT_SECRET,
        "bff_proxy_allow": "POST /UPRest/GetUPData, POST /Security/Whoami",
    }
    values.update(overrides)
    return values


OAuthBffFactory = Callable[..., ServerThread]


@pytest.fixture
def make_oauth_bff(sim_server: ServerThread, redis_url: str, sim: Sim) -> Iterator[OAuthBffFactory]:
    """``make_oauth_bff(cyberark_oauth_client_auth="post", clock=Clock())``; each redirect URI listed."""
    started: list[ServerThread] = []
    redirect_uris: list[str] = []

    def make(**overrides: Any) -> ServerThread:
        port = free_port()
        clock = overrides.pop("clock", None)
        values = oauth_values(port, sim_server.url, redis_url, **overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        redirect_uris.append(settings.oauth_redirect_uri)
        sim.post(f"/_sim/oauth/apps/{APP}", {"redirect_uris": redirect_uris})
        app = create_app(settings, clock=clock) if clock else create_app(settings)
        server = ServerThread(app, port=port).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def location(response: httpx.Response) -> str:
    assert response.status_code == 302, (response.status_code, response.text[:300])
    return response.headers["location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def set_cookie_lines(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


@dataclass
class Walk:
    """What a browser saw on its way through the code flow."""

    authorize_url: str
    callback_url: str
    callback: httpx.Response
    login_cookie: str


async def to_callback(
    browser: httpx.AsyncClient,
    bff: ServerThread,
    *,
    user: str = ALICE,
    password: str = ALICE_PASSWORD,
    return_to: str | None = None,
    cancel: bool = False,
) -> tuple[str, str, str]:
    """From ``/auth/oauth/login`` through the tenant's sign-in page: (authorize URL, callback URL, cookie).

    The browser does not go to the callback yet, so a test can change it first.
    """
    params = {} if return_to is None else {"return_to": return_to}
    started = await browser.get(f"{bff.url}/auth/oauth/login", params=params)
    authorize = location(started)
    login_cookie = browser.cookies.get("bff-oauth", domain="127.0.0.1") or ""
    page = await browser.get(authorize)
    if page.status_code == 200:  # the tenant's sign-in page (no tenant session yet)
        txn = page.headers["x-sim-txn"]
        app = urlsplit(authorize).path.rsplit("/", 1)[1]
        sign_in_url = f"{authorize.split('/OAuth2/')[0]}/OAuth2/SignIn/{app}"
        form = (
            {"txn": txn, "action": "cancel"}
            if cancel
            else {"txn": txn, "username": user, "password": password, "action": "signin"}
        )
        page = await browser.post(sign_in_url, data=form)
    return authorize, location(page), login_cookie


async def oauth_login(
    browser: httpx.AsyncClient, bff: ServerThread, *, return_to: str | None = None, user: str = ALICE
) -> Walk:
    """The whole login; the browser ends with the BFF's session cookie."""
    authorize, callback_url, login_cookie = await to_callback(browser, bff, return_to=return_to, user=user)
    callback = await browser.get(callback_url)
    return Walk(authorize, callback_url, callback, login_cookie)
