"""Optional OpenTelemetry traces (``BFF_OTEL_ENABLED=true``, the ``otel`` extra): a span per request and
per tenant call, W3C ``traceparent`` in from trusted proxies and out to the tenant.

Example::

    tracing = Tracing.from_settings(settings)          # only when enabled: imports opentelemetry here
    app.add_middleware(TracingMiddleware, tracing=tracing)
    tenant = TenantClient.from_settings(settings, trace=tracing.call)   # the hook: app.observe.trace_hook

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Network, Settings

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider


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

    @contextmanager
    def call(
        self, call: str, method: str, route: str | None = None, upstream: str | None = None
    ) -> Iterator[_CallSpan]:
        """The :data:`~app.observe.trace_hook.TraceHook` a tenant client takes: a CLIENT span per call.

        ``upstream``: the call goes to that upstream of ``BFF_UPSTREAMS`` (``GET orders proxy``), not the
        tenant.
        """
        from opentelemetry.trace import SpanKind, Status, StatusCode

        if upstream is None:
            attributes = {"http.request.method": method, "bff.tenant.call": call}
            name = f"{method} tenant {call}"
        else:
            attributes = {"http.request.method": method, "bff.upstream": upstream}
            name = f"{method} {upstream} {call}"
        if route is not None:
            attributes["http.route"] = route
        with self.tracer.start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,  # an exception's message can carry what a span must not
            set_status_on_exception=False,
        ) as span:
            carrier: dict[str, str] = {}
            self.propagator.inject(carrier)
            try:
                yield _CallSpan(span, carrier)
            except Exception as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise


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


class _CallSpan:
    """A :class:`~app.observe.trace_hook.CallSpan` on an OpenTelemetry span."""

    def __init__(self, span: Any, headers: dict[str, str]) -> None:
        self.span = span
        self.headers = headers

    def answered(self, status: int) -> None:
        self.span.set_attribute("http.response.status_code", status)
