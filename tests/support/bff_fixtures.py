"""Whole-system fixtures: the simulator and the BFF under real uvicorn, a real redis-server, real HTTP.

One pytest plugin (``pytest_plugins`` in tests/conftest.py) for every test package that needs them; a package
with a simulator of its own (tests/simulator, tests/identity) overrides ``sim`` and ``sim_server`` locally.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from simulator.app import create_app as create_simulator
from tests.support.asgi_server import ServerThread

SECRET = "e2e-secret-" + "x" * 32


class Sim:
    """The simulator's test controls, over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)

    def approve(self, username: str) -> None:
        self.http.post(f"/_sim/oob/{username}/approve").raise_for_status()

    def deny(self, username: str) -> None:
        self.http.post(f"/_sim/oob/{username}/deny").raise_for_status()

    def code(self, username: str) -> str:
        response = self.http.get(f"/_sim/code/{username}")
        response.raise_for_status()
        return str(response.json()["code"])

    def totp(self, username: str) -> str:
        response = self.http.get(f"/_sim/totp/{username}")
        response.raise_for_status()
        return str(response.json()["code"])

    def calls(self) -> list[dict[str, Any]]:
        response = self.http.get("/_sim/calls")
        response.raise_for_status()
        calls: list[dict[str, Any]] = response.json()
        return calls

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = self.http.post(path, json=body or {})
        response.raise_for_status()
        return response


@pytest.fixture(scope="session")
def sim_server() -> Iterator[ServerThread]:
    with ServerThread(create_simulator()) as server:
        yield server


@pytest.fixture
def sim(sim_server: ServerThread) -> Iterator[Sim]:
    controls = Sim(sim_server.url)
    controls.post("/_sim/reset")
    yield controls
    controls.http.close()


BffFactory = Callable[..., ServerThread]


@pytest.fixture
def make_bff(sim_server: ServerThread, redis_url: str) -> Iterator[BffFactory]:
    """Start a BFF with settings overrides: ``make_bff(bff_poll_min_interval=0)``; stopped after the test."""
    started: list[ServerThread] = []

    def make(**overrides: Any) -> ServerThread:
        values: dict[str, Any] = {
            "cyberark_tenant_url": sim_server.url,
            "bff_redis_url": redis_url,
            "bff_session_secrets": SECRET,
            "bff_cookie_secure": False,
            "bff_poll_min_interval": 0,
            # Throttling has its own tests (test_login_limits.py), which set their own limits.
            "bff_login_rate_limit": "100000/60,100000/60",
        }
        values.update(overrides)
        ssl = {k: values.pop(k) for k in ("ssl_certfile", "ssl_keyfile") if k in values}
        clock = values.pop("clock", None)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        app = create_app(settings, clock=clock) if clock else create_app(settings)
        server = ServerThread(app, **ssl).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def bff(make_bff: BffFactory) -> ServerThread:
    return make_bff()


@pytest.fixture
async def browser(bff: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that sends X-CSRF like the SPA does."""
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client
