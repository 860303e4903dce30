"""Each way a proxied call can fail, mapped to its documented answer; a dead token ends the session."""

from __future__ import annotations

import httpx
import pytest

from tests.proxy.conftest import client_for, login, seeded_cookie
from tests.proxy.upstream_app import UpstreamState
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer


async def _assert_session_is_gone(client: httpx.AsyncClient) -> None:
    after = await client.post("/api/UPRest/GetUPData", json={})
    assert after.status_code == 401 and after.json()["error"] == "unauthenticated"
    assert (await client.get("/auth/session")).status_code == 401


def _assert_session_expired(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["error"] == "session_expired"
    # The dead session's cookie is cleared too, spelled as /auth/logout spells it.
    cleared = response.headers["set-cookie"]
    assert cleared.startswith('bff=""') and "Max-Age=0" in cleared and "HttpOnly" in cleared


async def test_a_token_the_tenant_rejects_with_401_ends_the_session(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    assert (await alice.post("/api/UPRest/GetUPData", json={})).status_code == 200
    sim.post("/_sim/tokens/expire", {"username": "alice@example.com"})
    response = await alice.post("/api/UPRest/GetUPData", json={})
    _assert_session_expired(response)
    await _assert_session_is_gone(alice)


async def test_a_tenant_403_ends_the_session(alice: httpx.AsyncClient, sim: Sim) -> None:
    sim.post("/_sim/faults", {"path": "/UPRest/GetUPData", "status": 403, "times": 1})
    _assert_session_expired(await alice.post("/api/UPRest/GetUPData", json={}))
    await _assert_session_is_gone(alice)


async def test_a_token_rejection_in_a_200_body_ends_the_session(alice: httpx.AsyncClient, sim: Sim) -> None:
    body = '{"success": false, "Result": null, "Message": "Not authenticated"}'
    sim.post(
        "/_sim/faults",
        {
            "path": "/UPRest/GetUPData",
            "status": 200,
            "body": body,
            "content_type": "application/json",
            "times": 1,
        },
    )
    _assert_session_expired(await alice.post("/api/UPRest/GetUPData", json={}))
    await _assert_session_is_gone(alice)


async def test_a_failure_with_a_result_is_passed_on_and_the_session_lives(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    body = '{"success": false, "Result": {"Summary": "Failure"}, "Message": "no"}'
    sim.post(
        "/_sim/faults",
        {
            "path": "/UPRest/GetUPData",
            "status": 200,
            "body": body,
            "content_type": "application/json",
            "times": 1,
        },
    )
    response = await alice.post("/api/UPRest/GetUPData", json={})
    assert response.status_code == 200 and response.json()["Result"] == {"Summary": "Failure"}
    assert (await alice.post("/api/UPRest/GetUPData", json={})).status_code == 200


async def test_a_tenant_5xx_is_passed_on_as_it_is_and_the_session_lives(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    sim.post("/_sim/faults", {"path": "/UPRest/GetUPData", "status": 500, "times": 1})
    response = await alice.post("/api/UPRest/GetUPData", json={})
    assert response.status_code == 500
    assert (await alice.post("/api/UPRest/GetUPData", json={})).status_code == 200


async def test_a_slow_tenant_is_504_upstream_timeout(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff(bff_proxy_allow="POST /UPRest/GetUPData", cyberark_timeout=0.3)
    async with client_for(bff) as client:
        await login(client)
        sim.post("/_sim/faults", {"path": "/UPRest/GetUPData", "delay": 1.5, "times": 1})
        response = await client.post("/api/UPRest/GetUPData", json={})
        assert response.status_code == 504
        assert response.json()["error"] == "upstream_timeout"
        # The session is fine; the next call goes through.
        assert (await client.post("/api/UPRest/GetUPData", json={})).status_code == 200


async def test_a_tenant_that_drops_the_connection_is_502_and_the_post_is_sent_once(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    sim.http.delete("/_sim/calls")
    sim.post("/_sim/faults", {"path": "/UPRest/GetUPData", "drop": True, "times": 1})
    response = await alice.post("/api/UPRest/GetUPData", json={})
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"
    assert [c["path"] for c in sim.calls()] == ["/UPRest/GetUPData"]  # no retry of a POST
    assert (await alice.post("/api/UPRest/GetUPData", json={})).status_code == 200


async def test_an_unreachable_tenant_is_502(make_bff: BffFactory, redis_url: str) -> None:
    bff = make_bff(cyberark_tenant_url=f"http://127.0.0.1:{free_port()}", bff_proxy_allow="POST /x")
    async with client_for(bff, await seeded_cookie(redis_url)) as client:
        response = await client.post("/api/x", json={})
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"


async def test_an_answer_that_breaks_off_mid_stream_is_cut_not_completed(
    make_bff: BffFactory, redis_url: str, upstream: ServerThread, seen: UpstreamState
) -> None:
    bff = make_bff(cyberark_tenant_url=upstream.url, bff_proxy_allow="GET /break")
    async with client_for(bff, await seeded_cookie(redis_url)) as client:
        # Past the peek window: the browser already has the status when the tenant breaks off.
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/api/break", params={"size": 1_000_000, "sent": 200_000})
        # Within it: nothing was sent yet, so it is a clean 502.
        early = await client.get("/api/break", params={"size": 1_000_000, "sent": 1000})
        assert early.status_code == 502 and early.json()["error"] == "upstream_unavailable"
        assert (await client.get("/healthz")).status_code == 200


async def test_store_down_is_503_with_retry_after_and_recovers(
    make_bff: BffFactory, own_redis: RedisServer, sim: Sim
) -> None:
    bff = make_bff(bff_redis_url=own_redis.url, bff_proxy_allow="POST /UPRest/GetUPData")
    async with client_for(bff) as client:
        await login(client)
        sim.http.delete("/_sim/calls")
        own_redis.stop()
        try:
            response = await client.post("/api/UPRest/GetUPData", json={})
            assert response.status_code == 503
            assert response.json()["error"] == "store_unavailable"
            assert int(response.headers["retry-after"]) >= 1
            assert sim.calls() == []
        finally:
            own_redis.start()
        # The store answers again; this test's redis keeps nothing across a restart, so the session is gone.
        again = await client.post("/api/UPRest/GetUPData", json={})
        assert again.status_code == 401 and again.json()["error"] == "unauthenticated"
        await login(client)
        assert (await client.post("/api/UPRest/GetUPData", json={})).status_code == 200


async def test_without_a_session_it_is_401_unauthenticated(sim_bff: ServerThread, sim: Sim) -> None:
    async with client_for(sim_bff) as client:
        missing = await client.post("/api/UPRest/GetUPData", json={})
        client.cookies.set("bff", "forged.value")
        forged = await client.post("/api/UPRest/GetUPData", json={})
    for response in (missing, forged):
        assert response.status_code == 401 and response.json()["error"] == "unauthenticated"
    assert sim.calls() == []
