"""Calls to a team's own API through the BFF, over real HTTP: a real service verifies each assertion against
the JWKS it fetches from the BFF, and records what it received (api.md §7)."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from app.upstreams.assertions import LIFETIME
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import login_password
from tests.support.orders_service import OrdersService
from tests.support.waiting import settled
from tests.upstreams.conftest import ALICE, ISSUER, upstream

pytestmark = pytest.mark.usefixtures("sim")

Browser = tuple[ServerThread, httpx.AsyncClient]


async def test_the_service_verifies_the_assertion_against_the_jwks_and_learns_the_user(
    alice_on: Browser, orders: OrdersService, sim: Sim
) -> None:
    bff, browser = alice_on
    answer = await browser.get("/svc/orders/orders/42", params={"expand": "items"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/orders/42", "user": answer.json()["user"], "verified": True,
                             "order": {"id": "42", "items": 3}}  # fmt: skip
    [seen] = orders.calls
    assert seen.error is None, seen.error
    assert orders.jwks_fetches >= 1  # the keys came over HTTP from the BFF
    assert seen.path == "/orders/42" and seen.query == "expand=items"
    assert seen.header["typ"] == "JWT" and seen.header["alg"] == "ES256" and seen.header["kid"]
    claims = seen.claims
    me = (await browser.get("/auth/session")).json()
    assert claims["iss"] == ISSUER
    assert claims["aud"] == orders.audience  # the url's origin by default
    assert claims["sub"] == me["user"]["id"]
    assert claims["preferred_username"] == ALICE
    assert claims["name"] == me["user"]["display_name"] and claims["email"] == me["user"]["email"]
    assert claims["login"] == "api"
    assert 0 < claims["exp"] - claims["iat"] <= 120
    assert set(claims) == {"iss", "aud", "sub", "preferred_username", "name", "email", "login", "sid",
                           "iat", "exp", "jti"}  # fmt: skip
    # sid: a keyed hash, neither the cookie nor anything the browser or tenant knows.
    cookie = browser.cookies["bff"]
    assert claims["sid"] not in cookie and claims["sid"] != me.get("id")


async def test_the_service_gets_no_cookie_no_csrf_header_and_no_tenant_token(
    alice_on: Browser, orders: OrdersService, sim: Sim
) -> None:
    bff, browser = alice_on
    answer = await browser.post(
        "/svc/orders/echo/1",
        json={"note": "hello"},
        headers={"Authorization": "Bearer from-the-browser", "X-Custom": "x"},
    )
    assert answer.status_code == 200, answer.text
    [seen] = orders.calls
    assert seen.body == b'{"note":"hello"}'
    names = {name.lower() for name, _ in seen.raw_headers}
    assert not names & {"cookie", "x-csrf", "x-custom", "x-idap-native-client", "x-centrify-native-client"}
    assert seen.bearer is not None and seen.bearer != "from-the-browser" and seen.error is None
    tenant_tokens = {
        c["headers"]["authorization"].removeprefix("Bearer ")
        for c in sim.calls()
        if "authorization" in c["headers"]
    }
    # The session's .ASPXAUTH as the tenant sees it: make one tenant call through /api to be sure of it.
    everything = b"".join(v for _, v in seen.raw_headers) + seen.body
    cookie = browser.cookies["bff"]
    assert cookie.encode() not in everything
    for token in tenant_tokens:
        assert token.encode() not in everything


async def test_an_assertion_is_reused_while_fresh_so_the_hot_path_rarely_signs(
    alice_on: Browser, orders: OrdersService
) -> None:
    bff, browser = alice_on
    for _ in range(5):
        assert (await browser.get("/svc/orders/orders/1")).status_code == 200
    bearers = {seen.bearer for seen in orders.calls}
    assert len(bearers) == 1
    [mounted] = bff.config.app.upstreams  # type: ignore[attr-defined]
    signer = mounted.proxy.target.credential.__self__
    assert signer.signed == 1


async def test_the_upstreams_401_and_403_pass_through_and_the_session_lives_on(
    alice_on: Browser, orders: OrdersService
) -> None:
    bff, browser = alice_on
    for status in (401, 403):
        answer = await browser.get(f"/svc/orders/status/{status}")
        assert answer.status_code == status
        assert answer.json()["path"] == f"/status/{status}"  # the upstream's own body
        assert "set-cookie" not in answer.headers
    assert (await browser.get("/auth/session")).status_code == 200
    assert (await browser.get("/svc/orders/orders/1")).status_code == 200


async def test_access_control_headers_from_the_upstream_never_reach_the_browser(
    alice_on: Browser, orders: OrdersService
) -> None:
    bff, browser = alice_on
    answer = await browser.get("/svc/orders/cors", headers={"Origin": bff.url})
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.lower().startswith("access-control-")]
    assert answer.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/svc/orders/orders/1/../../admin",
        "/svc/orders/orders/%2E%2E/admin",
        "/svc/orders/orders%2F1",
        "/svc/orders//orders/1",
        "/svc/orders/orders/1;x=y",
        "/svc/orders/ORDERS/1",
        "/svc/%6Frders/orders/1",
        "/svc/orders/admin",
        "/svc/orders",
        "/svc/orders/orders\\1",
    ],
)
async def test_allow_list_tricks_against_an_upstream_prefix_reach_nothing(
    alice_on: Browser, orders: OrdersService, path: str
) -> None:
    bff, browser = alice_on
    with socket.create_connection(("127.0.0.1", bff.port)) as raw:
        cookie = browser.cookies["bff"]
        raw.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {bff.host}\r\nX-CSRF: 1\r\nCookie: bff={cookie}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        head = raw.recv(65536).split(b"\r\n", 1)[0]
    assert head.split()[1] in (b"403", b"404", b"400"), (path, head)
    assert orders.calls == []


async def test_a_method_the_rules_do_not_name_is_not_allowed(
    alice_on: Browser, orders: OrdersService
) -> None:
    bff, browser = alice_on
    answer = await browser.delete("/svc/orders/orders/1")
    assert (answer.status_code, answer.json()["error"]) == (403, "not_allowed")
    assert orders.calls == []


async def test_the_session_csrf_header_and_origin_are_required_as_for_api(
    alice_on: Browser, orders: OrdersService
) -> None:
    bff, browser = alice_on
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as stranger:
        answer = await stranger.get("/svc/orders/orders/1")
        assert (answer.status_code, answer.json()["error"]) == (401, "unauthenticated")
    cookie = {"bff": browser.cookies["bff"]}
    async with httpx.AsyncClient(base_url=bff.url, cookies=cookie, timeout=15) as no_csrf:
        answer = await no_csrf.post("/svc/orders/echo/1", json={})
        assert (answer.status_code, answer.json()["error"]) == (403, "csrf")
    answer = await browser.get("/svc/orders/orders/1", headers={"Origin": "https://evil.example"})
    assert (answer.status_code, answer.json()["error"]) == (403, "origin")
    assert orders.calls == []


async def test_token_none_sends_no_credential_but_still_needs_a_session(
    make_upstream_bff: BffFactory, orders: OrdersService, orders_url: str
) -> None:
    bff = make_upstream_bff(bff_upstreams=[upstream(orders_url, token="none")], bff_public_url=None)
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        assert (await browser.get("/svc/orders/orders/1")).status_code == 401
        await login_password(browser, ALICE)
        assert (await browser.get("/svc/orders/orders/1")).status_code == 200
        # No assertion upstream: no keys, no JWKS.
        assert (await browser.get("/.well-known/jwks.json")).status_code == 404
    [seen] = orders.calls
    assert "authorization" not in seen.headers


async def test_access_token_mode_refuses_an_api_login_session_and_sends_nothing(
    make_upstream_bff: BffFactory, orders: OrdersService, orders_url: str
) -> None:
    bff = make_upstream_bff(bff_upstreams=[upstream(orders_url, token="access_token")])
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, ALICE)
        answer = await browser.post("/svc/orders/echo/1", json={"big": "x" * 1000})
        assert (answer.status_code, answer.json()["error"]) == (403, "token_unavailable")
        assert (await browser.get("/auth/session")).status_code == 200
    assert orders.calls == []


async def test_an_upstream_that_is_down_is_502_and_one_too_slow_is_504(
    make_upstream_bff: BffFactory, orders: OrdersService, orders_url: str
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"  # bound, never listening: refused
        bff = make_upstream_bff(
            bff_upstreams=[
                upstream(dead, name="gone", prefix="/svc/gone"),
                upstream(orders_url, timeout=0.5),
            ]
        )
        async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
            await login_password(browser, ALICE)
            answer = await browser.get("/svc/gone/orders/1")
            assert (answer.status_code, answer.json()["error"]) == (502, "upstream_unavailable")
            assert "identity service" not in answer.json()["message"]
            answer = await browser.get("/svc/orders/slow/3")
            assert (answer.status_code, answer.json()["error"]) == (504, "upstream_timeout")
            # Neither ends the session, and the service works again at once.
            assert (await browser.get("/svc/orders/orders/1")).status_code == 200


async def test_metrics_and_the_access_log_name_the_upstream(
    alice_on: Browser, orders: OrdersService, caplog: pytest.LogCaptureFixture
) -> None:
    bff, browser = alice_on
    with caplog.at_level(logging.INFO, logger="bff.access"):
        assert (await browser.get("/svc/orders/orders/7")).status_code == 200

        def logged() -> list[logging.LogRecord]:
            return [r for r in caplog.records if getattr(r, "route", None) == "/svc/orders/{path}"]

        await settled(lambda: bool(logged()))
    [line] = logged()
    assert line.upstream == "orders"  # type: ignore[attr-defined]
    text = (await browser.get("/metrics")).text
    assert 'bff_upstream_call_duration_seconds_count{upstream="orders"} 1.0' in text
    assert 'bff_requests_total{route="/svc/orders/{path}",status="200"} 1.0' in text


async def test_without_upstreams_nothing_of_it_exists(make_bff: BffFactory) -> None:
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, ALICE)
        assert (await browser.get("/svc/orders/orders/1")).status_code == 404
        assert (await browser.get("/.well-known/jwks.json")).status_code == 404


async def test_the_jwks_needs_no_session_and_may_be_cached_an_hour_at_most(
    make_upstream_bff: BffFactory,
) -> None:
    bff = make_upstream_bff()
    answer = httpx.get(bff.url + "/.well-known/jwks.json")
    assert answer.status_code == 200
    cache = answer.headers["cache-control"]
    max_age = int(cache.split("max-age=")[1].split(",")[0])
    assert 0 < max_age <= 3600 and "public" in cache
    [key] = answer.json()["keys"]
    assert key["kty"] == "EC" and key["alg"] == "ES256" and key["use"] == "sig" and key["kid"]
    assert "d" not in key  # never the private half
    assert LIFETIME <= 120


async def test_the_tenant_under_api_is_untouched_by_upstreams(
    alice_on: Browser, orders: OrdersService, sim: Sim
) -> None:
    bff, browser = alice_on
    sim.http.delete("/_sim/calls")
    answer = await browser.post("/api/UPRest/GetUPData", json={})
    assert answer.status_code == 200, answer.text
    [call] = [c for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    assert call["headers"]["x-idap-native-client"] == "true"
    assert not call["headers"]["authorization"].startswith("Bearer ey")  # the tenant's token, no assertion
    assert orders.calls == []


async def test_an_upstream_call_has_the_same_data_plane_as_api(
    make_upstream_bff: BffFactory, orders: OrdersService
) -> None:
    bff = make_upstream_bff(bff_max_body_bytes=1000)
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, ALICE)
        # The request id: returned to the browser and forwarded to the service.
        answer = await browser.get("/svc/orders/orders/1", headers={"X-Request-ID": "trace-me-1"})
        assert answer.headers["x-request-id"] == "trace-me-1"
        assert orders.calls[-1].headers["x-request-id"] == "trace-me-1"
        # The body limit, and headers too large: refused before anything reaches the service.
        answer = await browser.post("/svc/orders/echo/1", content=b"x" * 1001)
        assert (answer.status_code, answer.json()["error"]) == (413, "body_too_large")
        answer = await browser.get("/svc/orders/orders/1", headers={"X-Big": "y" * 20_000})
        assert (answer.status_code, answer.json()["error"]) == (431, "headers_too_large")
        cookie = browser.cookies["bff"]
    # Two framings of one body: 400, nothing sent.
    with socket.create_connection(("127.0.0.1", bff.port)) as raw:
        raw.sendall(
            f"POST /svc/orders/echo/1 HTTP/1.1\r\nHost: {bff.host}\r\nX-CSRF: 1\r\nCookie: bff={cookie}\r\n"
            "Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n".encode()
        )
        head = raw.recv(65536).split(b"\r\n", 1)[0]
    assert head.split()[1] == b"400"
    assert [call.path for call in orders.calls] == ["/orders/1"]
