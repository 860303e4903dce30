"""One step at a time per login across replicas: two BFF processes on one Redis, the same login's PIN sent
to both at once, forty times; the tenant hears one PIN (the guard lives in the store, not in a process)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.bff_process import BffProcess

ADVANCE = "/Security/AdvanceAuthentication"
PIN_USER = "fedpin@partner.example"


@pytest.fixture
def two_bffs(sim_server: ServerThread, redis_url: str) -> Iterator[tuple[BffProcess, BffProcess]]:
    one = BffProcess(sim_server.url, redis_url)
    try:
        two = BffProcess(sim_server.url, redis_url)
    except BaseException:
        one.stop()
        raise
    yield one, two
    one.stop()
    two.stop()


async def test_forty_pin_answers_over_two_processes_make_one_tenant_pin_call(
    two_bffs: tuple[BffProcess, BffProcess], fault_sim: Sim
) -> None:
    one, two = two_bffs
    async with httpx.AsyncClient(headers={"X-CSRF": "1"}, timeout=30) as starter:
        step = (await starter.post(one.url + "/auth/login", json={"username": PIN_USER})).json()
        login_cookie = starter.cookies["bff-login"]
    pin = fault_sim.post(f"/_sim/idp/{PIN_USER}/complete").json()["pin"]
    # The first PIN call is held at the tenant: the others arrive, on both processes, while it is in flight.
    fault_sim.post("/_sim/faults", {"path": ADVANCE, "delay": 2.0, "times": 1})
    headers = {"X-CSRF": "1", "Cookie": f"bff-login={login_cookie}"}
    body = {"mechanism": step["mechanism"], "answer": pin}

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        answers = await asyncio.gather(
            *(client.post((one if i % 2 else two).url + "/auth/advance", json=body) for i in range(40))
        )

    pin_calls = [
        c for c in fault_sim.calls() if c["path"] == ADVANCE and c["json"].get("MechanismId") == "OOBAUTHPIN"
    ]
    assert len(pin_calls) == 1
    seen = Counter(
        r.json()["status"] if r.status_code == 200 else f"{r.status_code} {r.json()['error']}"
        for r in answers
    )
    assert seen["authenticated"] == 1, seen
    assert set(seen) - {"authenticated"} <= {"409 step_in_progress", "401 login_failed"}, seen
    # Both processes turned some away: neither let a second step through on its own.
    refused_by = {
        str(r.request.url).split("/auth")[0]
        for r in answers
        if r.status_code == 409 and r.json()["error"] == "step_in_progress"
    }
    assert refused_by == {one.url, two.url}, seen
