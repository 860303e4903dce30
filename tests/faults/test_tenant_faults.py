"""The tenant slow, refusing, cutting connections or talking nonsense mid-login: clean answers, never 500."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.faults.conftest import ALICE, ALICE_PASSWORD, StartBff, browser, login
from tests.support.bff_fixtures import Sim
from tests.support.ports import free_port

START = "/Security/StartAuthentication"
ADVANCE = "/Security/AdvanceAuthentication"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code and set(body) == {"error", "message"}


async def begin(client: httpx.AsyncClient) -> str:
    """Start alice's login; the password mechanism's id."""
    started = await client.post("/auth/login", json={"username": ALICE})
    assert started.status_code == 200, started.text
    return str(started.json()["challenge"]["mechanisms"][0]["id"])


async def test_slow_tenant_is_504_upstream_timeout_then_recovers(
    redis_url: str, start_bff: StartBff, fault_sim: Sim
) -> None:
    bff = start_bff(bff_redis_url=redis_url, cyberark_timeout=1)
    async with browser(bff.url) as client:
        fault_sim.post("/_sim/faults", {"path": START, "delay": 2})
        started = time.monotonic()
        assert_error(await client.post("/auth/login", json={"username": ALICE}), 504, "upstream_timeout")
        assert time.monotonic() - started < 1.9  # the BFF's timeout, not the tenant's delay

        fault_sim.http.delete("/_sim/faults").raise_for_status()
        mechanism = await begin(client)
        fault_sim.post("/_sim/faults", {"path": ADVANCE, "delay": 2, "times": 1})
        answer = {"mechanism": mechanism, "answer": ALICE_PASSWORD}
        assert_error(await client.post("/auth/advance", json=answer), 504, "upstream_timeout")
    # A fresh login works on the same BFF: nothing was left broken.
    async with browser(bff.url) as again:
        await login(again)


async def test_refused_connections_are_502_upstream_unavailable(redis_url: str, start_bff: StartBff) -> None:
    bff = start_bff(bff_redis_url=redis_url, cyberark_tenant_url=f"http://127.0.0.1:{free_port()}")
    async with browser(bff.url) as client:
        started = time.monotonic()
        assert_error(await client.post("/auth/login", json={"username": ALICE}), 502, "upstream_unavailable")
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", [START, ADVANCE])
async def test_connection_reset_mid_body_is_502(
    redis_url: str, start_bff: StartBff, fault_sim: Sim, path: str
) -> None:
    bff = start_bff(bff_redis_url=redis_url)
    async with browser(bff.url) as client:
        if path == START:
            fault_sim.post("/_sim/faults", {"path": START, "drop": True, "times": 1})
            response = await client.post("/auth/login", json={"username": ALICE})
        else:
            mechanism = await begin(client)
            fault_sim.post("/_sim/faults", {"path": ADVANCE, "drop": True, "times": 1})
            response = await client.post(
                "/auth/advance", json={"mechanism": mechanism, "answer": ALICE_PASSWORD}
            )
        assert_error(response, 502, "upstream_unavailable")
        # The next login reuses the pool: the cut connection was not kept.
        await login(client)


GARBAGE: list[dict[str, Any]] = [
    {"status": 200, "body": "<html><body>Sign in</body></html>", "content_type": "text/html"},
    {"status": 200, "body": '{"success": tru', "content_type": "application/json"},
    {"status": 200, "body": '{"success": true, "Result": 17}', "content_type": "application/json"},
    {"status": 200, "body": "\u0000\u00ff\ufffd" * 50, "content_type": "application/json"},
    {"status": 404, "body": "<html><h1>Not Found</h1></html>", "content_type": "text/html"},
]


@pytest.mark.parametrize(
    "reply", GARBAGE, ids=["html", "truncated-json", "wrong-shape", "binary", "html-404"]
)
async def test_nonsense_at_login_start_is_upstream_protocol_error(
    redis_url: str, start_bff: StartBff, fault_sim: Sim, reply: dict[str, Any]
) -> None:
    bff = start_bff(bff_redis_url=redis_url)
    async with browser(bff.url) as client:
        fault_sim.post("/_sim/faults", {"path": START, **reply, "times": 1})
        response = await client.post("/auth/login", json={"username": ALICE})
        assert_error(response, 502, "upstream_protocol_error")
        assert "bff-login" not in response.cookies


@pytest.mark.parametrize(
    "reply", GARBAGE, ids=["html", "truncated-json", "wrong-shape", "binary", "html-404"]
)
async def test_nonsense_while_advancing_is_a_clean_login_failed(
    redis_url: str, start_bff: StartBff, fault_sim: Sim, reply: dict[str, Any]
) -> None:
    bff = start_bff(bff_redis_url=redis_url)
    async with browser(bff.url) as client:
        mechanism = await begin(client)
        fault_sim.post("/_sim/faults", {"path": ADVANCE, **reply, "times": 1})
        response = await client.post("/auth/advance", json={"mechanism": mechanism, "answer": ALICE_PASSWORD})
        assert_error(response, 401, "login_failed")
        # The pre-auth state is gone: the SPA starts again at /auth/login.
        again = await client.post("/auth/advance", json={"mechanism": mechanism, "answer": ALICE_PASSWORD})
        assert_error(again, 409, "no_login_in_progress")


async def test_tenant_5xx_during_login_is_502(redis_url: str, start_bff: StartBff, fault_sim: Sim) -> None:
    bff = start_bff(bff_redis_url=redis_url)
    async with browser(bff.url) as client:
        fault_sim.post("/_sim/faults", {"path": START, "status": 503, "times": 1})
        assert_error(await client.post("/auth/login", json={"username": ALICE}), 502, "upstream_unavailable")


async def test_clients_that_disconnect_mid_request_leave_no_broken_pooled_connection(
    redis_url: str, start_bff: StartBff, fault_sim: Sim
) -> None:
    bff = start_bff(bff_redis_url=redis_url)
    fault_sim.post("/_sim/faults", {"path": START, "delay": 0.5, "times": 4})
    # Four browsers give up while the BFF waits on the tenant: each closes its socket mid-request.
    for _ in range(4):
        async with browser(bff.url, timeout=0.15) as impatient:
            with pytest.raises(httpx.ReadTimeout):
                await impatient.post("/auth/login", json={"username": ALICE})
    await asyncio.sleep(0.6)  # let the abandoned tenant calls finish or fail inside the BFF
    async with browser(bff.url) as client:
        for _ in range(3):  # more than one request: every pooled connection is healthy, not just one
            await login(client)
        assert (await client.get("/auth/session")).status_code == 200
    starts = [c for c in fault_sim.calls() if c["path"] == START]
    assert len(starts) == 4 + 3
