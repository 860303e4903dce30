"""Fault-test fixtures: the simulator and BFFs under real uvicorn, on whatever Redis a test starts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, Sim

ALICE = "alice@example.com"
ALICE_PASSWORD = "alice-pass-1"


@pytest.fixture
def fault_sim(sim_server: ServerThread) -> Iterator[Sim]:
    """The simulator's controls, reset before and after (faults must not leak into the next test)."""
    controls = Sim(sim_server.url)
    controls.post("/_sim/reset")
    yield controls
    controls.post("/_sim/reset")
    controls.http.close()


StartBff = Callable[..., ServerThread]


def bff_settings(tenant_url: str, **overrides: Any) -> Settings:
    """A test BFF's settings: plain-http cookies, one fixed secret (two BFFs share sessions), no poll wait."""
    values: dict[str, Any] = {
        "cyberark_tenant_url": tenant_url,
        "bff_session_secrets": SECRET,
        "bff_cookie_secure": False,
        "bff_poll_min_interval": 0,
        # Throttling has its own tests (tests/e2e/test_login_limits.py); here it would only get in the way.
        "bff_login_rate_limit": "100000/60,100000/60",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def start_bff(sim_server: ServerThread) -> Iterator[StartBff]:
    """``start_bff(bff_redis_url=...)``: a BFF under uvicorn against the simulator; stopped after the test."""
    started: list[ServerThread] = []

    def start(**overrides: Any) -> ServerThread:
        server = ServerThread(create_app(bff_settings(sim_server.url, **overrides))).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def browser(base_url: str, timeout: float = 15) -> httpx.AsyncClient:
    """A cookie-keeping client that sends X-CSRF like the SPA does."""
    return httpx.AsyncClient(base_url=base_url, headers={"X-CSRF": "1"}, timeout=timeout)


async def login(client: httpx.AsyncClient, username: str = ALICE, password: str = ALICE_PASSWORD) -> str:
    """A whole password login through the BFF; returns the session cookie's value."""
    started = await client.post("/auth/login", json={"username": username})
    assert started.status_code == 200, started.text
    mechanism = started.json()["challenge"]["mechanisms"][0]["id"]
    done = await client.post("/auth/advance", json={"mechanism": mechanism, "answer": password})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "authenticated"
    cookie = client.cookies.get("bff")
    assert cookie
    return cookie


async def wait_until(
    check: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.05
) -> float:
    """Seconds until ``check()`` is true; fails the test after ``timeout``."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
    return time.monotonic() - started
