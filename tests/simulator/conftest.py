"""Fixtures: the simulator built from its example users, served by a real uvicorn on a free port.

One server per test module (uvicorn takes longer to start than a test runs); each test starts reset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from simulator.app import create_app
from tests.support.asgi_server import ServerThread


@pytest.fixture(scope="module")
def sim_app() -> FastAPI:
    return create_app()


@pytest.fixture(scope="module")
def sim_server(sim_app: FastAPI) -> Iterator[ServerThread]:
    with ServerThread(sim_app) as server:
        yield server


@pytest.fixture
def sim(sim_app: FastAPI, sim_server: ServerThread) -> ServerThread:
    sim_app.state.sim.reset()
    return sim_server


@pytest.fixture
async def client(sim: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, timeout=10) as c:
        yield c
