"""Header rules both ways, request ids, and tenant cookies: exactly the spec's list goes up, and back down."""

from __future__ import annotations

import httpx

from tests.proxy.conftest import client_for, login, seeded_cookie
from tests.proxy.upstream_app import UpstreamState
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim

BROWSER_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Accept-Encoding": "identity",
    "Accept-Language": "de-CH",
    "X-Request-ID": "req-123.abc",
    "Authorization": "Bearer browser-supplied",
    "X-CSRF": "1",
    "Origin": None,  # set per test to the BFF's own origin
    "Referer": "http://evil.example/",
    "User-Agent": "Browser/1.0",
    "X-Forwarded-For": "203.0.113.9",
    "Connection": "keep-alive, Accept-Language",
    "Keep-Alive": "timeout=5",
    "TE": "trailers",
    "Proxy-Authorization": "Basic eA==",
    "X-Custom": "not on the list",
}


def _browser_headers(server: ServerThread) -> dict[str, str]:
    headers = {k: v for k, v in BROWSER_HEADERS.items() if v is not None}
    headers["Origin"] = server.url
    return headers


async def test_exactly_the_listed_headers_go_upstream(
    alice: httpx.AsyncClient, sim: Sim, sim_bff: ServerThread
) -> None:
    alice.cookies.set("other", "cookie")
    response = await alice.post(
        "/api/Sim/Echo?q=1&x=%C3%A9", content=b'{"a": 1}', headers=_browser_headers(sim_bff)
    )
    assert response.status_code == 200, response.text
    echo = response.json()["Result"]
    got = echo["headers"]
    assert set(got) == {
        "host",
        "authorization",
        "x-idap-native-client",
        "x-centrify-native-client",
        "content-type",
        "accept",
        "accept-encoding",
        "x-request-id",
        "content-length",
    }, got
    # Accept-Language was named in Connection: hop-by-hop for that one message, so it is not forwarded.
    assert got["authorization"].startswith("Bearer ") and got["authorization"] != "Bearer browser-supplied"
    assert echo["user"] == "alice@example.com"  # the session's own tenant token
    assert got["x-idap-native-client"] == "true" and got["x-centrify-native-client"] == "true"
    assert got["content-type"] == "application/json"
    assert got["accept"] == "application/json"
    assert got["accept-encoding"] == "identity"
    assert got["host"] == sim.url.removeprefix("http://")  # the tenant's own host, never the BFF's
    assert got["x-request-id"] == "req-123.abc" == response.headers["x-request-id"]
    assert echo["body"] == '{"a": 1}'
    assert echo["query"] == "q=1&x=%C3%A9"
    assert echo["method"] == "POST" and echo["path"] == "/Sim/Echo"


async def test_accept_language_goes_upstream_when_not_named_hop_by_hop(alice: httpx.AsyncClient) -> None:
    response = await alice.get("/api/Sim/Echo", headers={"Accept-Language": "fr"})
    assert response.json()["Result"]["headers"]["accept-language"] == "fr"


async def test_an_invalid_request_id_is_replaced_and_the_replacement_is_what_the_tenant_sees(
    alice: httpx.AsyncClient,
) -> None:
    response = await alice.get("/api/Sim/Echo", headers={"X-Request-ID": "bad id with spaces"})
    sent = response.json()["Result"]["headers"]["x-request-id"]
    assert sent != "bad id with spaces"
    assert sent == response.headers["x-request-id"]
    generated = await alice.get("/api/Sim/Echo")
    assert generated.json()["Result"]["headers"]["x-request-id"] == generated.headers["x-request-id"]


async def test_a_header_value_with_a_control_character_is_refused(alice: httpx.AsyncClient, sim: Sim) -> None:
    sim.http.delete("/_sim/calls")
    response = await alice.get("/api/Sim/Echo", headers={"Accept": "a\tb"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert sim.calls() == []


async def test_the_tenant_cookie_never_reaches_the_browser(alice: httpx.AsyncClient) -> None:
    response = await alice.post("/api/Sim/Echo", json={})
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "SimEcho" not in alice.cookies


async def test_cookies_the_tenant_set_for_one_user_never_ride_along_for_another(
    sim_bff: ServerThread, sim: Sim
) -> None:
    async with client_for(sim_bff) as user_a, client_for(sim_bff) as user_b:
        await login(user_a, "alice@example.com")
        await login(user_b, "apps@example.com")
        first = await user_a.post("/api/Sim/Echo", json={})
        assert first.json()["Result"]["user"] == "alice@example.com"
        second = await user_b.post("/api/Sim/Echo", json={})
        again = await user_a.post("/api/Sim/Echo", json={})
    for response in (second, again):
        headers = response.json()["Result"]["headers"]
        assert "cookie" not in headers, headers
    assert second.json()["Result"]["user"] == "apps@example.com"
    echoes = [c for c in sim.calls() if c["path"] == "/Sim/Echo"]
    assert len(echoes) == 3 and not any("cookie" in c["headers"] for c in echoes)
    # The origin client has no cookie jar at all: the three calls above are the whole check.


async def test_response_headers_lose_cookies_hop_by_hop_and_origin_policies(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread, seen: UpstreamState
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow="GET /headers")
    cookie = await seeded_cookie(redis_url)
    async with client_for(bff, cookie) as client:
        response = await client.get("/api/headers", headers={"X-Request-ID": "mine-1"})
    assert response.status_code == 200, response.text
    names = [name.decode().lower() for name, _ in response.headers.raw]
    for gone in (
        "set-cookie",
        "x-hop-named",
        "keep-alive",
        "proxy-authenticate",
        "upgrade",
        "access-control-allow-origin",
        "strict-transport-security",
    ):
        assert gone not in names, gone
    assert response.headers["x-tenant-thing"] == "kept"
    assert response.headers["cache-control"] == "private, max-age=5"
    assert response.headers["etag"] == '"v1"'
    assert response.headers["content-language"] == "en"
    # One Date, one Server, one X-Request-ID: the BFF's own, not a second value from the tenant.
    assert names.count("x-request-id") == 1 and response.headers["x-request-id"] == "mine-1"
    assert names.count("server") == 1 and response.headers["server"] != "TenantServer/1.0"
    assert names.count("date") == 1
    assert set(client.cookies) == {"bff"}  # only the BFF's own, preset above
    assert seen.completed[0]["headers"]["authorization"] == "Bearer test-token"


async def test_proxied_answers_carry_nosniff_and_a_sandbox_csp(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread, seen: UpstreamState
) -> None:
    # A tenant answer is served from the BFF's origin: as a page (text/html, SVG, or sniffed into one) it
    # could run script there. Whole answers, streamed ones and the tenant's errors alike.
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow="GET /headers, GET /big, GET /echo")
    async with client_for(bff, await seeded_cookie(redis_url)) as client:
        answers = [
            await client.get("/api/headers"),  # with an X-Content-Type-Options of the tenant's own
            await client.get("/api/big", params={"size": 300_000}),
            await client.get("/api/echo", params={"status": 500}),
        ]
    for response in answers:
        names = [name.decode().lower() for name, _ in response.headers.raw]
        assert names.count("x-content-type-options") == 1, names
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers.get_list("content-security-policy") == ["sandbox"]
