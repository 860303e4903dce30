"""Fixtures: the simulator on four plain hosts (pod redirects) and one TLS host, and a client per test."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import pytest

from app.identity.client import TenantClient
from simulator.app import create_app
from tests.identity.simulated import USERS, Sim
from tests.support.asgi_server import ServerThread


@pytest.fixture(scope="module")
def sim_module() -> Iterator[Sim]:
    app = create_app(USERS)
    servers = {name: ServerThread(app).start() for name in ("a", "b", "c", "d")}
    sim = Sim(app, servers)
    yield sim
    sim.close()
    for server in servers.values():
        server.stop()


@pytest.fixture
def sim(sim_module: Sim) -> Sim:
    sim_module.reset()
    return sim_module


@pytest.fixture(scope="module")
def tls_sim(tls_files: dict[str, str]) -> Iterator[Sim]:
    app = create_app(USERS)
    server = ServerThread(app, ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]).start()
    sim = Sim(app, {"a": server}, verify=ssl.create_default_context(cafile=tls_files["ca"]))
    yield sim
    sim.close()
    server.stop()


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[TenantClient]:
    tenant = TenantClient(sim.url("a"), timeout=2.0)
    yield tenant
    await tenant.aclose()
