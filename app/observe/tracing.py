"""Optional OpenTelemetry traces (``BFF_OTEL_ENABLED=true``, the ``otel`` extra): a span per request and
per tenant call, W3C ``traceparent`` in from trusted proxies and out to the tenant.

Example::

    tracing = Tracing.from_settings(settings)          # only when enabled: imports opentelemetry here
    app.add_middleware(TracingMiddleware, tracing=tracing)
    upstream = tracing.upstream(Upstream.from_settings(settings))

When tracing is off nothing here is imported and nothing is added to the request path: the app is built
exactly as without this module. Spans carry the route template (``/api/{path}``, ``/auth/sessions/{id}``)
and the tenant call's name, never a raw path, a path parameter's value, a query, a header or a token. The
standard ``OTEL_*`` variables configure the SDK (``OTEL_SERVICE_NAME``, ``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_TRACES_SAMPLER``, ...); ``OTEL_TRACES_EXPORTER`` may be ``otlp`` (the default), ``console`` or
``none``.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Network, Settings

if TYPE_CHECKING:
    import aiohttp
    from opentelemetry.trace import Tracer, TracerProvider

    from app.identity.client import TenantClient
    from app.identity.upstream import Body, ProxyUpstream


class Tracing:
    """The tracer, the W3C propagator and the proxies whose ``traceparent`` is believed."""

    def __init__(self, provider: TracerProvider, trusted: Sequence[Network], *, owned: bool = False) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("cyberark-bff")
        self.propagator = TraceContextTextMapPropagator()
        self.trusted = tuple(trusted)
        self._owned = owned

    @classmethod
    def from_settings(cls, settings: Settings, provider: TracerProvider | None = None) -> Tracing:
        """Tracing for ``settings``; without ``provider``, the SDK's, exporting as ``OTEL_*`` say."""
        if provider is not None:
            return cls(provider, settings.bff_trusted_proxies)
        from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

        sdk = SdkTracerProvider()  # resource and sampler from OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, ...
        kind = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
        exporter: SpanExporter | None = None
        if kind == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        elif kind == "console":
            exporter = ConsoleSpanExporter()
        if exporter is not None:
            sdk.add_span_processor(BatchSpanProcessor(exporter))
        return cls(sdk, settings.bff_trusted_proxies, owned=True)

    def shutdown(self) -> None:
        """Flush and stop the SDK this made (not one it was given)."""
        if self._owned:
            self.provider.shutdown()  # type: ignore[attr-defined]

    def trusted_peer(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client or not self.trusted:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def inject(self, headers: list[tuple[str, str]]) -> None:
        """Append the current span's ``traceparent`` (and ``tracestate``) to an outgoing call's headers."""
        carrier: dict[str, str] = {}
        self.propagator.inject(carrier)
        headers[:] = [(k, v) for k, v in headers if k.lower() not in ("traceparent", "tracestate")]
        headers.extend(carrier.items())

    def upstream(
        self, upstream: ProxyUpstream, *, name: str = "tenant", route: str = "/api/{path}"
    ) -> TracedUpstream:
        """``upstream`` (the tenant's client, or an upstream's of ``BFF_UPSTREAMS`` by ``name``) traced."""
        return TracedUpstream(upstream, self, name=name, route=route)

    def transport(self, inner: httpx.AsyncBaseTransport) -> TracedTransport:
        return TracedTransport(inner, self)


class TracingMiddleware:
    """A SERVER span per HTTP request, named ``METHOD /route/{template}`` once the route is known."""

    def __init__(self, app: ASGIApp, tracing: Tracing) -> None:
        self.app = app
        self.tracing = tracing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from opentelemetry import context, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        tracing = self.tracing
        parent = None
        if tracing.trusted_peer(scope):
            carrier = {
                name.decode("latin-1"): value.decode("latin-1")
                for name, value in scope["headers"]
                if name in (b"traceparent", b"tracestate")
            }
            parent = tracing.propagator.extract(carrier)
        method: str = scope["method"]
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span = tracing.tracer.start_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send_status)
        finally:
            context.detach(token)
            route = _route_template(scope)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
            span.end()


def _route_template(scope: Scope) -> str:
    # As the access log labels it: the matched route's template, never the path that was asked for.
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else str(scope.get("bff_route", "unmatched"))


class TracedUpstream:
    """The proxy's :class:`~app.identity.upstream.Upstream` with a CLIENT span and ``traceparent`` per call.

    A :class:`~app.identity.upstream.ProxyUpstream`: it has the two methods the proxy calls.
    """

    def __init__(
        self, upstream: ProxyUpstream, tracing: Tracing, *, name: str = "tenant", route: str = "/api/{path}"
    ) -> None:
        self.inner = upstream
        self.tracing = tracing
        #: "{METHOD} tenant proxy" for the tenant; "{METHOD} orders proxy" for the upstream "orders".
        self.span_name = f"{name} proxy"
        self.attributes: dict[str, str] = (
            {"http.route": route, "bff.tenant.call": "proxy"}
            if name == "tenant"
            else {"http.route": route, "bff.upstream": name}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        base_url: str | None = None,
    ) -> aiohttp.ClientResponse:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        attributes = {"http.request.method": method, **self.attributes}
        with self.tracing.tracer.start_as_current_span(
            f"{method} {self.span_name}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # an exception's message can carry what a span must not
            set_status_on_exception=False,
        ) as span:
            self.tracing.inject(headers)
            try:
                response = await self.inner.send(method, path, query, headers, body, base_url)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            span.set_attribute("http.response.status_code", response.status)
            return response


class TracedTransport(httpx.AsyncBaseTransport):
    """The login client's transport with a CLIENT span and ``traceparent`` per tenant call."""

    def __init__(self, inner: httpx.AsyncBaseTransport, tracing: Tracing) -> None:
        self.inner = inner
        self.tracing = tracing

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from app.identity.client import _call_name

        call = _call_name(request.url.path)
        attributes = {"http.request.method": request.method, "bff.tenant.call": call}
        with self.tracing.tracer.start_as_current_span(
            f"{request.method} tenant {call}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            self.tracing.propagator.inject(carrier)
            request.headers.update(carrier)
            try:
                response = await self.inner.handle_async_request(request)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            span.set_attribute("http.response.status_code", response.status_code)
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def traced_tenant_client(
    settings: Settings, tracing: Tracing, observe: Callable[[str, float], None]
) -> TenantClient:
    """``TenantClient.from_settings`` with a traced transport (same CA bundle, timeout and pool limits)."""
    from app.identity.client import DEFAULT_LIMITS, TenantClient
    from app.identity.upstream import tls_context

    verify = tls_context(settings) or True
    transport = tracing.transport(httpx.AsyncHTTPTransport(verify=verify, limits=DEFAULT_LIMITS))
    return TenantClient(
        settings.tenant_url,
        tenant_id=settings.cyberark_tenant_id,
        timeout=settings.cyberark_timeout,
        transport=transport,
        observe=observe,
    )
