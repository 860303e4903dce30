"""The client reports each call's latency to its observer and forwards the browser request's X-Request-ID."""

from __future__ import annotations

from app.identity.client import TenantClient
from app.identity.models import Started
from app.observe.request_context import current_request_id
from tests.identity.simulated import PASSWORD, Sim


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
