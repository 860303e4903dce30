"""OpenTelemetry on upstream calls: a CLIENT span named for the upstream, its traceparent sent on to it."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET
from tests.support.bff_login import login_password
from tests.support.orders_service import OrdersService
from tests.support.waiting import settled
from tests.upstreams.conftest import ALICE, upstream

pytestmark = pytest.mark.usefixtures("sim")


async def test_an_upstream_call_has_its_client_span_and_the_upstream_gets_its_traceparent(
    sim_server: ServerThread, redis_url: str, orders: OrdersService, orders_url: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_cookie_secure=False,
        bff_otel_enabled=True,
        bff_upstreams=[upstream(orders_url, token="none")],
    )
    with ServerThread(create_app(settings, tracer_provider=provider)) as bff:
        async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
            await login_password(browser, ALICE)
            assert (await browser.get("/svc/orders/orders/9")).status_code == 200

        def finished(kind: SpanKind, name: str) -> list:  # type: ignore[type-arg]
            return [s for s in exporter.get_finished_spans() if s.kind == kind and s.name == name]

        await settled(lambda: bool(finished(SpanKind.SERVER, "GET /svc/orders/{path}")))
    [server] = finished(SpanKind.SERVER, "GET /svc/orders/{path}")
    [client] = finished(SpanKind.CLIENT, "GET orders proxy")
    assert client.attributes is not None and client.attributes["bff.upstream"] == "orders"
    assert client.attributes["http.route"] == "/svc/orders/{path}"
    assert client.parent is not None and client.parent.span_id == server.context.span_id
    sent = orders.calls[-1].headers["traceparent"]
    assert sent.startswith(f"00-{client.context.trace_id:032x}-{client.context.span_id:016x}-")
