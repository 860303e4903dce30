"""Access middleware (plain ASGI): request id, one JSON log line and metrics per request.

The request id comes from a valid ``X-Request-ID`` or is generated; it is returned to the client and kept in
``scope["state"]["request_id"]`` for the tenant calls. Handlers may put a session's keyed hash in
``scope["state"]["session"]`` so the log line names the session without its id; a call to an upstream of
``BFF_UPSTREAMS`` carries its name (``scope["bff_upstream"]``, set where it is routed).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observe.metrics import Metrics
from app.observe.request_context import current_request_id
from app.observe.request_ids import new_request_id, valid_request_id

access_log = logging.getLogger("bff.access")

#: Probes and scrapes: logged at DEBUG, so a kubelet's and Prometheus's polling does not drown the access log.
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessMiddleware:
    """Wraps the app: ``AccessMiddleware(app, metrics)``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        # labels() checks the label names and builds a key on every call; the (route, status) pairs are few.
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._in_flight = metrics.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        context_token = current_request_id.set(request_id)
        status = 500
        header = (b"x-request-id", request_id.encode("ascii"))
        in_flight = self._in_flight
        in_flight.value += 1

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            in_flight.value -= 1
            current_request_id.reset(context_token)
            elapsed = time.perf_counter() - started
            route = _route_label(scope)
            children = self._children.get((route, status))
            if children is None:
                children = (
                    self.metrics.requests.labels(route=route, status=str(status)),
                    self.metrics.latency.labels(route=route),
                )
                self._children[(route, status)] = children
            children[0].inc()
            children[1].observe(elapsed)
            fields = {
                "request_id": request_id,
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "session": state.get("session"),
            }
            upstream = scope.get("bff_upstream")
            if upstream is not None:
                fields["upstream"] = upstream
            (access_log.debug if route in QUIET_ROUTES else access_log.info)("request", extra=fields)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if valid_request_id(text):
                return text
            break
    return new_request_id()


def _route_label(scope: Scope) -> str:
    # The route's template, never the raw path: paths can carry ids, and label cardinality must stay bounded.
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return str(scope.get("bff_route", "unmatched"))
