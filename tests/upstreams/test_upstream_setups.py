"""Upstreams as operators set them up, over real HTTP: TLS with a ca_bundle (and one that does not verify),
key rotation across two BFFs on one store, and an OAuth session's access token across a refresh."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.errors import ExpiredTokenError

from app.upstreams.assertions import LIFETIME
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import login_password
from tests.support.oauth_bff import APP, Clock, OAuthBffFactory, oauth_login
from tests.support.orders_service import OrdersService
from tests.upstreams.conftest import ALICE, upstream
from tests.upstreams.test_config import pem

pytestmark = pytest.mark.usefixtures("sim")


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=15) as client:
        yield client


async def test_an_upstream_over_tls_with_its_ca_bundle_and_one_that_does_not_verify(
    make_bff: BffFactory, tls_files: dict[str, str], browser: httpx.AsyncClient
) -> None:
    service = OrdersService()
    with ServerThread(
        service.app, ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"], interface="asgi3"
    ) as server:
        assert server.url.startswith("https://")
        bff = make_bff(
            bff_upstreams=[
                upstream(server.url, ca_bundle=tls_files["ca"], token="none"),
                # The same server, trusted by the system store only: its certificate does not verify.
                upstream(server.url, name="untrusted", prefix="/svc/untrusted", token="none"),
            ]
        )
        browser.base_url = httpx.URL(bff.url)
        await login_password(browser, ALICE)
        answer = await browser.get("/svc/orders/orders/1")
        assert answer.status_code == 200, answer.text
        answer = await browser.post("/svc/untrusted/echo/1", json={"secret": "never sent"})
        assert (answer.status_code, answer.json()["error"]) == (502, "upstream_unavailable")
    assert [call.path for call in service.calls] == ["/orders/1"]  # nothing from the refused one


async def test_key_rotation_new_assertions_use_the_new_key_old_ones_verify_until_they_expire(
    make_bff: BffFactory, browser: httpx.AsyncClient, orders: OrdersService, orders_url: str
) -> None:
    old, new = pem(ec.generate_private_key(ec.SECP256R1())), pem(ec.generate_private_key(ec.SECP256R1()))
    settings = {"bff_upstreams": [upstream(orders_url)], "bff_public_url": orders.issuer}
    before = make_bff(bff_assertion_keys=old, **settings)
    orders.jwks_url = before.url + "/.well-known/jwks.json"
    browser.base_url = httpx.URL(before.url)
    await login_password(browser, ALICE)
    assert (await browser.get("/svc/orders/orders/1")).status_code == 200
    old_call = orders.calls[-1]
    assert old_call.error is None
    old_jwks = httpx.get(orders.jwks_url).json()

    # The operator deploys the new key first in the bundle, the old one after it (same store, same secrets:
    # the session goes on). The service still holds the old key set and fetches again for the unknown kid.
    after = make_bff(bff_assertion_keys=new + old, **settings)
    orders.jwks_url = after.url + "/.well-known/jwks.json"
    browser.base_url = httpx.URL(after.url)
    assert (await browser.get("/svc/orders/orders/2")).status_code == 200
    new_call = orders.calls[-1]
    assert new_call.error is None, new_call.error
    assert new_call.header["kid"] != old_call.header["kid"]
    new_jwks = httpx.get(orders.jwks_url).json()
    assert [k["kid"] for k in new_jwks["keys"]] == [new_call.header["kid"], old_call.header["kid"]]
    assert old_jwks["keys"][0] == new_jwks["keys"][1]  # the kid is the key's own: same on every replica
    # The old assertion verifies against the new JWKS until it expires, and not after.
    assert old_call.bearer is not None
    header, claims = orders.verify(old_call.bearer)
    assert header["kid"] == old_call.header["kid"]
    with pytest.raises(ExpiredTokenError):
        orders.verify(old_call.bearer, now=claims["iat"] + LIFETIME + 1)


async def test_access_token_mode_sends_the_oauth_access_token_and_its_refreshed_successor(
    make_oauth_bff: OAuthBffFactory,
    sim: Sim,
    browser: httpx.AsyncClient,
    orders: OrdersService,
    orders_url: str,
) -> None:
    clock = Clock()
    bff = make_oauth_bff(clock=clock, bff_upstreams=[upstream(orders_url, token="access_token")])
    orders.jwks_url = ""  # the service takes the tenant's access token as it is
    await oauth_login(browser, bff)
    cookie = browser.cookies.get("bff")
    async with httpx.AsyncClient(
        base_url=bff.url, headers={"X-CSRF": "1", "Cookie": f"bff={cookie}"}, timeout=15
    ) as spa:
        assert (await spa.get("/svc/orders/orders/1")).status_code == 200
        first = orders.calls[-1].bearer
        state = (await spa.get("/auth/session")).json()
        assert state["login"] == "oauth"
        refreshed_before = sim.http.get(f"/_sim/oauth/{APP}/grants").json()["granted"].get("refresh_token", 0)
        clock.advance(3600)  # the access token is due by the BFF's clock: the next call refreshes it first
        assert (await spa.get("/svc/orders/orders/2")).status_code == 200
        second = orders.calls[-1].bearer
        assert (await spa.get("/svc/orders/orders/3")).status_code == 200
        sim.http.delete("/_sim/calls")
        assert (await spa.post("/api/UPRest/GetUPData", json={})).status_code == 200
    grants = sim.http.get(f"/_sim/oauth/{APP}/grants").json()["granted"]
    assert grants["refresh_token"] == refreshed_before + 1
    assert first and second and first != second
    assert orders.calls[-1].bearer == second
    # The service got the very access token the tenant accepts for this session now.
    [tenant_call] = [c for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    assert tenant_call["headers"]["authorization"] == f"Bearer {second}"
