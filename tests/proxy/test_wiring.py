"""Where the proxy sits: behind the CSRF/Origin guard, inside the access log and metrics, on /api only."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.e2e.conftest import Sim
from tests.support.asgi_server import ServerThread


async def test_a_post_without_the_csrf_header_never_reaches_the_tenant(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    sim.http.delete("/_sim/calls")
    del alice.headers["X-CSRF"]
    response = await alice.post("/api/UPRest/GetUPData", json={})
    assert response.status_code == 403 and response.json()["error"] == "csrf"
    # Safe methods need no header.
    assert (await alice.get("/api/Sim/Echo")).status_code == 200
    assert [c["method"] for c in sim.calls()] == ["GET"]


async def test_a_foreign_origin_never_reaches_the_tenant(alice: httpx.AsyncClient, sim: Sim) -> None:
    sim.http.delete("/_sim/calls")
    response = await alice.post("/api/UPRest/GetUPData", json={}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and response.json()["error"] == "origin"
    assert sim.calls() == []


async def test_only_api_paths_are_proxied(alice: httpx.AsyncClient, sim: Sim) -> None:
    sim.http.delete("/_sim/calls")
    assert (await alice.get("/healthz")).status_code == 200
    lookalike = await alice.post("/apix/UPRest/GetUPData", json={})
    assert lookalike.status_code in (404, 405) and lookalike.json()["error"] != "not_allowed"
    bare = await alice.post("/api", json={})
    assert bare.status_code == 403 and bare.json()["error"] == "not_allowed"
    assert sim.calls() == []


async def test_proxied_calls_are_logged_and_counted_without_secrets(
    alice: httpx.AsyncClient, sim_bff: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await alice.post("/api/UPRest/GetUPData", json={}, headers={"X-Request-ID": "log-check-1"})
    assert response.status_code == 200
    lines = [
        r for r in caplog.records if r.name == "bff.access" and getattr(r, "request_id", "") == "log-check-1"
    ]
    assert len(lines) == 1
    line = lines[0]
    assert line.route == "/api/{path}"  # type: ignore[attr-defined]
    assert line.status == 200  # type: ignore[attr-defined]
    assert line.method == "POST"  # type: ignore[attr-defined]
    assert isinstance(line.session, str) and len(line.session) >= 8  # type: ignore[attr-defined]
    cookie = alice.cookies["bff"]
    echo = await alice.get("/api/Sim/Echo")
    token = echo.json()["Result"]["headers"]["authorization"].removeprefix("Bearer ")
    for record in caplog.records:
        text = str(record.__dict__)
        assert cookie not in text and token not in text
    metrics = (await alice.get("/metrics")).text
    assert 'bff_requests_total{route="/api/{path}",status="200"}' in metrics
    assert 'bff_tenant_call_duration_seconds_count{call="proxy"}' in metrics
    assert token not in metrics and cookie not in metrics
