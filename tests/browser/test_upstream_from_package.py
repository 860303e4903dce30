"""A page using the browser client package calls a team's own API through the BFF in Chromium.

The page signs in with the package and calls ``bff.fetch("/svc/orders/...")``; the BFF (BFF_UPSTREAMS with an
``assertion`` upstream) forwards to the real orders service (tests/support/orders_service.py), which verifies
the assertion against the BFF's JWKS fetched over HTTP and records what it received.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext

from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import SECRET, WEB, PageProblems
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.orders_service import OrdersService
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

PACKAGE = "/vendor/cyberark-bff-client/index.js"
ALICE = "alice@example.com"


@pytest.fixture
def orders(tls_files: dict[str, str]) -> Iterator[tuple[OrdersService, ServerThread]]:
    service = OrdersService(jwks_ca=tls_files["ca"])
    with ServerThread(service.app, interface="asgi3") as server:
        yield service, server


@pytest.fixture
def bff_with_orders(
    sim_server: ServerThread,
    redis_server: RedisServer,
    tls_files: dict[str, str],
    orders: tuple[OrdersService, ServerThread],
) -> Iterator[ServerThread]:
    """The BFF over https serving web/ and the package, the orders service its ``assertion`` upstream."""
    service, server = orders
    port = free_port()
    public_url = f"https://127.0.0.1:{port}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_server.url,
        bff_session_secrets=SECRET,
        bff_static_dir=WEB,
        bff_public_url=public_url,
        bff_upstreams=[{"name": "orders", "url": server.url, "allow": "GET /orders/*", "token": "assertion"}],
    )
    app = create_app(settings)
    with ServerThread(app, port=port, ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]) as bff:
        service.issuer, service.audience = public_url, server.url
        service.jwks_url = bff.url + "/.well-known/jwks.json"
        yield bff


SIGN_IN_AND_CALL = """async ([pkg]) => {
  const { createBffClient } = await import(pkg);
  const bff = createBffClient();
  const user = await bff.login("alice@example.com", {
    challenge: (c) => ({ mechanism: c.mechanisms[0].id, answer: "alice-pass-1" }),
  });
  const session = await bff.session({ slide: false });
  const order = await bff.fetch("/svc/orders/orders/42?expand=items");
  const refused = await bff.fetch("/svc/orders/admin/users");
  return { user: user.username, id: session.user.id, status: order.status, body: await order.json(),
           refused: refused.status, refusedCode: (await refused.json()).error };
}"""


def test_the_package_reaches_an_upstream_that_learns_the_signed_in_user(
    context: BrowserContext,
    bff_with_orders: ServerThread,
    orders: tuple[OrdersService, ServerThread],
    sim: Sim,
    problems: PageProblems,
) -> None:
    service, _ = orders
    page = context.new_page()
    page.goto(bff_with_orders.url + "/")
    page.wait_for_selector("#view-username:not([hidden])")
    result = page.evaluate(SIGN_IN_AND_CALL, [PACKAGE])
    # What the page got: the service's own answer, naming the user the assertion carried.
    assert result["status"] == 200, result
    assert result["body"] == {"path": "/orders/42", "user": result["id"], "verified": True,
                              "order": {"id": "42", "items": 3}}  # fmt: skip
    assert result["user"] == ALICE
    # A path outside the upstream's allow-list is refused at the BFF and never reaches the service.
    assert (result["refused"], result["refusedCode"]) == (403, "not_allowed")
    # What the upstream received: one call, a verified assertion for alice, no cookie, no X-CSRF.
    [seen] = service.calls
    assert seen.error is None, seen.error
    assert (seen.method, seen.path, seen.query) == ("GET", "/orders/42", "expand=items")
    assert seen.claims["sub"] == result["id"] and seen.claims["preferred_username"] == ALICE
    assert seen.claims["iss"] == bff_with_orders.url and seen.claims["login"] == "api"
    names = {name.decode("latin-1").lower() for name, _ in seen.raw_headers}
    assert not names & {"cookie", "x-csrf"}
    cookie_values = [c["value"] for c in context.cookies()]
    everything = b"".join(v for _, v in seen.raw_headers)
    assert cookie_values and not any(v.encode() in everything for v in cookie_values)
    assert problems.errors == []
