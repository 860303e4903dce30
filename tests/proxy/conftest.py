"""Proxy fixtures: the real BFF under uvicorn on real Redis, against the simulator or a test-only upstream.

``make_bff``, ``sim`` and ``sim_server`` are the shared whole-system fixtures (tests/support/bff_fixtures.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.settings import Settings
from bench.seed import seed
from tests.proxy.upstream_app import UpstreamState, upstream_app
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, BffFactory, Sim

#: Rules the simulator-backed tests use: one of each form (exact, any method, one segment, the rest).
SIM_RULES = "POST /UPRest/GetUPData, * /Sim/Echo, GET /Security/*, POST /Docs/**"


def password(username: str) -> str:
    return username.split("@", 1)[0] + "-pass-1"


async def login(client: httpx.AsyncClient, username: str = "alice@example.com") -> None:
    """A password-only login through the BFF's own /auth steps; the client keeps the session cookie."""
    step = (await client.post("/auth/login", json={"username": username})).json()
    mechanism = step["challenge"]["mechanisms"][0]
    assert mechanism["name"] == "UP", step
    done = await client.post(
        "/auth/advance", json={"mechanism": mechanism["id"], "answer": password(username)}
    )
    assert done.status_code == 200 and done.json()["status"] == "authenticated", done.text


def client_for(server: ServerThread, cookie: str | None = None, **options: Any) -> httpx.AsyncClient:
    """A browser-like client: cookie jar, X-CSRF like the SPA; ``cookie`` (``name=value``) preset."""
    options.setdefault("timeout", 15)
    client = httpx.AsyncClient(base_url=server.url, headers={"X-CSRF": "1"}, **options)
    if cookie is not None:
        name, _, value = cookie.partition("=")
        client.cookies.set(name, value)
    return client


@pytest.fixture
def sim_bff(make_bff: BffFactory, sim: Sim) -> ServerThread:  # noqa: F811
    return make_bff(bff_proxy_allow=SIM_RULES)


@pytest.fixture
async def alice(sim_bff: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in browser for alice against the simulator-backed BFF."""
    async with client_for(sim_bff) as client:
        await login(client)
        yield client


@pytest.fixture(scope="module")
def upstream_state() -> UpstreamState:
    return UpstreamState()


@pytest.fixture(scope="module")
def upstream(upstream_state: UpstreamState) -> Iterator[ServerThread]:
    with ServerThread(upstream_app(upstream_state)) as server:
        yield server


@pytest.fixture
def seen(upstream_state: UpstreamState) -> UpstreamState:
    """The test upstream's record, emptied for this test."""
    upstream_state.reset()
    return upstream_state


async def seeded_cookie(redis_url: str, token: str = "test-token") -> str:  # noqa: S107 - a test bearer
    """A session for bearer ``token`` written into ``redis_url`` the way the BFF does it (``name=value``)."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_cookie_secure=False,
    )
    return await seed(settings, token)
