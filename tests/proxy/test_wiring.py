"""Where the proxy sits: behind the CSRF/Origin guard, inside the access log and metrics, on /api only."""

from __future__ import annotations

import gc
import json
import logging
from typing import Any

import httpx
import pytest

from app.identity.upstream import Upstream
from app.main import YOUNG_COLLECTION_THRESHOLD, create_app
from app.observe.access import AccessMiddleware
from app.observe.metrics import Metrics
from app.proxy.forward import Proxy
from app.proxy.mount import ProxyFirstFastAPI
from app.security.csrf import CsrfOriginCheck, CsrfOriginMiddleware
from app.security.limits import HeaderBudget, RequestLimitsMiddleware
from app.settings import Settings
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.waiting import settled


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

    def logged() -> list[logging.LogRecord]:
        access = [r for r in caplog.records if r.name == "bff.access"]
        return [r for r in access if getattr(r, "request_id", "") == "log-check-1"]

    await settled(lambda: bool(logged()))
    lines = logged()
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


class _BrokenSessions:
    """A session service that fails in a way no real store does (a bug): the one edge a fake is for."""

    async def load(self, cookie: str | None, *, slide: bool = True) -> None:
        raise RuntimeError("bug")


async def test_an_unexpected_error_in_the_proxy_is_the_json_500_not_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = Proxy(Settings(_env_file=None, bff_cookie_secure=False), Metrics())  # type: ignore[call-arg]
    await proxy.open(_BrokenSessions(), upstream=Upstream("http://127.0.0.1:9", timeout=1))  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/UPRest/GetUPData",
        "raw_path": b"/api/UPRest/GetUPData",
        "query_string": b"",
        "headers": [],
    }
    try:
        await proxy.handle(scope, receive, send)
    finally:
        await proxy.aclose()
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"]) == {
        "error": "internal_error",
        "message": "The request could not be completed.",
    }
    assert any(r.message == "unexpected error in the proxy" for r in caplog.records)


async def test_oversized_headers_on_api_are_refused_before_the_csrf_check(
    alice: httpx.AsyncClient, sim: Sim
) -> None:
    # Both guards fail: the outer middleware (limits) answers, as it did when both were layers.
    sim.http.delete("/_sim/calls")
    del alice.headers["X-CSRF"]
    response = await alice.post(
        "/api/UPRest/GetUPData",
        json={},
        headers={"Origin": "https://evil.example", "X-Padding": "a" * 17_000},
    )
    assert response.status_code == 431 and response.json()["error"] == "headers_too_large"
    assert sim.calls() == []


def _app() -> ProxyFirstFastAPI:
    app = create_app(Settings(_env_file=None, bff_cookie_secure=False))  # type: ignore[call-arg]
    assert isinstance(app, ProxyFirstFastAPI)
    return app


def test_the_guards_run_inside_the_proxy_in_middleware_order() -> None:
    app = _app()
    proxy = app.proxy
    # /api: the access layer, then the proxy, which runs the two checks itself (no layers of their own).
    assert isinstance(app.api, AccessMiddleware) and app.api.app == proxy.handle
    owners = [type(getattr(guard, "__self__", None)) for guard in proxy.guards]
    assert owners == [HeaderBudget, CsrfOriginCheck]
    # Every other route: the same checks as middleware, in the same order, inside the access layer.
    layers = [m.cls for m in app.user_middleware]
    assert layers == [AccessMiddleware, RequestLimitsMiddleware, CsrfOriginMiddleware]


async def test_starting_the_app_tunes_the_collector_for_serving() -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, before[1], before[2])
    app = _app()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, before[1], before[2])
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
