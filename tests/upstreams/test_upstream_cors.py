"""CORS on an upstream's prefix is /api's (the same front door): a listed origin's preflight is granted, its
answers carry the BFF's own grant, and the upstream's own Access-Control-* never reach the browser."""

from __future__ import annotations

import httpx
import pytest

from tests.support.bff_fixtures import BffFactory
from tests.support.orders_service import OrdersService
from tests.upstreams.conftest import ALICE  # noqa: F401 - the fixtures of this package

SPA = "https://app.example.com"

pytestmark = pytest.mark.usefixtures("sim")


async def test_a_listed_origin_gets_the_bffs_grant_on_an_upstream_prefix_never_the_upstreams(
    make_upstream_bff: BffFactory, orders: OrdersService
) -> None:
    bff = make_upstream_bff(bff_allowed_origins=SPA)
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        preflight = await client.options(
            "/svc/orders/cors",
            headers={"Origin": SPA, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "x-csrf"},
        )  # fmt: skip
        assert preflight.status_code == 204, preflight.text
        assert preflight.headers["access-control-allow-origin"] == SPA
        assert orders.calls == []  # a preflight never reaches the service
        answer = await client.get("/svc/orders/cors", headers={"Origin": SPA, "X-CSRF": "1"})
    assert answer.status_code == 401  # no session: the guard's answer, with the grant
    assert answer.headers.get_list("access-control-allow-origin") == [SPA]
    assert answer.headers["access-control-allow-credentials"] == "true"
    # The service's own "*", its credentials flag and X-Secret exposure are gone (tested signed in elsewhere).
    assert "x-secret" not in answer.headers.get("access-control-expose-headers", "").lower()
