"""Upstream fixtures: the BFF under uvicorn with ``BFF_UPSTREAMS`` pointing at a real orders service.

``orders`` is the service (tests/support/orders_service.py) on a free port, verifying every assertion
against the BFF's JWKS over HTTP; ``make_upstream_bff(upstreams=[...])`` starts a BFF whose upstreams
default to that service, and points the service at its JWKS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory
from tests.support.bff_login import login_password
from tests.support.orders_service import OrdersService

#: The BFF's public URL in these tests: the assertions' ``iss``.
ISSUER = "https://app.example.test"
ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def orders_service() -> Iterator[tuple[OrdersService, ServerThread]]:
    service = OrdersService(issuer=ISSUER)
    with ServerThread(service.app, interface="asgi3") as server:
        service.audience = server.url
        yield service, server


@pytest.fixture
def orders(orders_service: tuple[OrdersService, ServerThread]) -> OrdersService:
    service, _ = orders_service
    service.reset()
    service.audience = orders_service[1].url
    return service


@pytest.fixture
def orders_url(orders_service: tuple[OrdersService, ServerThread]) -> str:
    return orders_service[1].url


def upstream(url: str, **fields: Any) -> dict[str, Any]:
    """One BFF_UPSTREAMS entry for the orders service (every route allowed unless ``allow`` is given)."""
    return {"name": "orders", "url": url, "allow": "GET /orders/*, * /echo/**, GET /slow/*, GET /cors, "
            "GET /status/*", **fields}  # fmt: skip


@pytest.fixture
def make_upstream_bff(make_bff: BffFactory, orders: OrdersService, orders_url: str) -> BffFactory:
    """``make_upstream_bff(bff_upstreams=[upstream(url, token="none")])``; the service trusts its JWKS."""

    def make(**overrides: Any) -> ServerThread:
        overrides.setdefault("bff_upstreams", [upstream(orders_url)])
        overrides.setdefault("bff_public_url", ISSUER)
        bff = make_bff(**overrides)
        orders.jwks_url = bff.url + "/.well-known/jwks.json"
        return bff

    return make


@pytest.fixture
async def alice_on(
    make_upstream_bff: BffFactory,
) -> AsyncIterator[tuple[ServerThread, httpx.AsyncClient]]:
    """A BFF with the orders upstream, and a browser signed in as alice (API login) on it."""
    bff = make_upstream_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, ALICE)
        yield bff, browser
