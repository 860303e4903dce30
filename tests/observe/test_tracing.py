"""OpenTelemetry, with the SDK's in-memory exporter: a span per request and per tenant call, named by the
route template; traceparent believed from trusted proxies only and passed on to the tenant; nothing when
off."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, Sim
from tests.support.bff_login import login_password
from tests.support.waiting import settled

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced_bff(
    sim_server: ServerThread, redis_url: str, exporter: InMemorySpanExporter, request: pytest.FixtureRequest
) -> Iterator[ServerThread]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_cookie_secure=False,
        bff_poll_min_interval=0,
        bff_proxy_allow="POST /UPRest/GetUPData, GET /UserMgmt/*",
        bff_otel_enabled=True,
        bff_trusted_proxies=getattr(request, "param", "127.0.0.1/32"),
    )
    with ServerThread(create_app(settings, tracer_provider=provider)) as server:
        yield server


def spans(exporter: InMemorySpanExporter, kind: SpanKind) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind == kind]


def everything_said(span_list: list[ReadableSpan]) -> str:
    return repr([(s.name, dict(s.attributes or {}), s.events, s.status.description) for s in span_list])


async def test_a_span_per_request_and_per_tenant_call_by_template(
    traced_bff: ServerThread, exporter: InMemorySpanExporter, sim: Sim
) -> None:
    async with httpx.AsyncClient(base_url=traced_bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, "alice@example.com")
        cookie = browser.cookies["bff"]
        sessions = (await browser.get("/auth/sessions")).json()
        await browser.delete(f"/auth/sessions/{'z' * 20}")
        apps = await browser.post("/api/UPRest/GetUPData?secret-query=1", json={})
        assert apps.status_code == 200
    await settled(lambda: any(s.name == "POST /api/{path}" for s in spans(exporter, SpanKind.SERVER)))
    servers = spans(exporter, SpanKind.SERVER)
    names = [s.name for s in servers]
    assert "POST /auth/login" in names and "POST /api/{path}" in names
    assert "DELETE /auth/sessions/{session_id}" in names or any(
        n.startswith("DELETE /auth/sessions/{") for n in names
    ), names
    proxied = next(s for s in servers if s.name == "POST /api/{path}")
    assert proxied.attributes is not None
    assert proxied.attributes["http.route"] == "/api/{path}"
    assert proxied.attributes["http.response.status_code"] == 200
    clients = spans(exporter, SpanKind.CLIENT)
    assert {s.attributes["bff.tenant.call"] for s in clients if s.attributes} >= {"start", "advance", "proxy"}
    tenant_call = next(s for s in clients if s.attributes and s.attributes["bff.tenant.call"] == "proxy")
    assert tenant_call.parent is not None and tenant_call.parent.span_id == proxied.context.span_id
    # Never a token, a cookie, a path parameter's value or a query.
    said = everything_said(exporter.get_finished_spans())
    bearers = {c["headers"].get("authorization", "") for c in sim.calls()} - {""}
    for secret in [cookie, "z" * 20, "secret-query", "GetUPData", sessions[0]["id"], *bearers]:
        assert secret not in said
    # The tenant got the trace: each call's traceparent names its CLIENT span.
    sent = [c["headers"].get("traceparent") for c in sim.calls() if c["path"] == "/UPRest/GetUPData"]
    ctx = tenant_call.context
    assert len(sent) == 1 and (sent[0] or "").startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


async def test_traceparent_from_a_trusted_proxy_continues_its_trace(
    traced_bff: ServerThread, exporter: InMemorySpanExporter, sim: Sim
) -> None:
    async with httpx.AsyncClient(base_url=traced_bff.url, timeout=15) as client:
        await client.get("/healthz", headers={"traceparent": INCOMING})
    (span,) = spans(exporter, SpanKind.SERVER)
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"


@pytest.mark.parametrize("traced_bff", ["10.0.0.0/8"], indirect=True)
async def test_traceparent_from_anyone_else_starts_a_new_trace(
    traced_bff: ServerThread, exporter: InMemorySpanExporter, sim: Sim
) -> None:
    async with httpx.AsyncClient(base_url=traced_bff.url, timeout=15) as client:
        await client.get("/healthz", headers={"traceparent": INCOMING})
    (span,) = spans(exporter, SpanKind.SERVER)
    assert f"{span.context.trace_id:032x}" != TRACE_ID and span.parent is None


def test_off_by_default_and_then_nothing_of_it_is_loaded_or_in_the_path() -> None:
    code = (
        "import sys; from app.main import create_app; from app.settings import Settings;"
        "app = create_app(Settings(_env_file=None));"
        "print([m.cls.__name__ for m in app.user_middleware]);"
        # (redis-py imports the SDK by itself when it is installed: not ours to count.)
        "print(sorted(m for m in sys.modules if m.startswith('app.observe.tracing')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    layers, loaded = result.stdout.strip().splitlines()[-2:]
    assert "Tracing" not in layers and "Access" in layers
    assert loaded == "[]"
