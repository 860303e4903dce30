"""The client reports each call's latency to its observer and forwards the browser request's X-Request-ID."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from app.errors import TenantUnavailable
from app.identity.client import TenantClient
from app.identity.models import Started
from app.observe.request_context import current_request_id
from tests.identity.simulated import PASSWORD, Sim
from tests.support.ports import free_port


async def test_every_call_is_observed_under_a_fixed_name(sim: Sim) -> None:
    seen: list[tuple[str, float]] = []
    tenant = TenantClient(sim.url("a"), timeout=2.0, observe=lambda call, secs: seen.append((call, secs)))
    try:
        started = await tenant.start("pw@example.com")
        assert isinstance(started, Started)
        password = started.package.challenges[0].mechanisms[0]
        await tenant.answer(started.context, password.id, PASSWORD)
    finally:
        await tenant.aclose()
    assert [name for name, _ in seen] == ["start", "advance"]
    assert all(0 < secs < 2 for _, secs in seen)


async def test_the_request_id_of_the_browser_request_reaches_the_tenant(
    sim: Sim, client: TenantClient
) -> None:
    token = current_request_id.set("req-4bf92f3577b34da6")
    try:
        await client.start("pw@example.com")
    finally:
        current_request_id.reset(token)
    await client.start("pw@example.com")
    calls = sim.calls("/Security/StartAuthentication")
    assert calls[0]["headers"].get("x-request-id") == "req-4bf92f3577b34da6"
    assert "x-request-id" not in calls[1]["headers"]


class _Span:
    def __init__(self, call: str, method: str) -> None:
        self.call = call
        self.method = method
        self.headers = {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}
        self.status: int | None = None
        self.failed: str | None = None

    def answered(self, status: int) -> None:
        self.status = status


async def test_a_trace_hook_wraps_every_call_under_its_fixed_name(sim: Sim) -> None:
    spans: list[_Span] = []

    @contextmanager
    def trace(call: str, method: str, route: str | None = None) -> Iterator[_Span]:
        span = _Span(call, method)
        spans.append(span)
        try:
            yield span
        except Exception as exc:
            span.failed = type(exc).__name__
            raise

    tenant = TenantClient(sim.url("a"), timeout=2.0, trace=trace)
    try:
        started = await tenant.start("pw@example.com")
        assert isinstance(started, Started)
    finally:
        await tenant.aclose()
    assert [(s.call, s.method, s.status, s.failed) for s in spans] == [("start", "POST", 200, None)]
    # The hook's headers reach the tenant: that is how its span becomes the tenant's parent.
    assert (
        sim.calls("/Security/StartAuthentication")[0]["headers"].get("traceparent")
        == spans[0].headers["traceparent"]
    )

    unreachable = TenantClient(f"http://127.0.0.1:{free_port()}", timeout=2.0, trace=trace)
    try:
        with pytest.raises(TenantUnavailable):
            await unreachable.start("pw@example.com")
    finally:
        await unreachable.aclose()
    assert spans[-1].call == "start" and spans[-1].status is None and spans[-1].failed == "ConnectError"
