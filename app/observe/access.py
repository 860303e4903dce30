"""Access middleware (plain ASGI): request id, one JSON log line and metrics per request.

The request id comes from a valid ``X-Request-ID`` or is generated; it is returned to the client and kept in
``scope["state"]["request_id"]`` for the tenant calls. Handlers may put a session's keyed hash in
``scope["state"]["session"]`` so the log line names the session without its id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from json.encoder import encode_basestring_ascii
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observe.logs import JsonFormatter
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
            _LINES.write(
                route in QUIET_ROUTES,
                request_id,
                scope["method"],
                route,
                status,
                round(elapsed * 1000, 2),
                state.get("session"),
                scope.get("bff_upstream"),
            )


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


class AccessLines:
    """The access line, written straight to the JSON log handler's stream when nothing else would see it.

    Through ``logging`` a line costs a LogRecord, the formatter's walk over the record's attributes and a
    locked write and flush per request; here it is one f-string, and the lines of one event-loop turn go out
    in one write. The line is the one :class:`~app.observe.logs.JsonFormatter` writes for the same record
    (tests/observe/test_access_line.py holds the two together). Whenever a record could be seen by anything
    else (another handler, a filter, pytest's log capture, a logger set up differently), it goes through
    ``logging`` as before.
    """

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._handler: logging.StreamHandler[Any] | None = None
        # (second, its text), as JsonFormatter keeps it.
        self._stamp: tuple[int, str] = (-1, "")

    def write(
        self,
        quiet: bool,
        request_id: str,
        method: str,
        route: str,
        status: int,
        duration_ms: float,
        session: str | None,
        upstream: str | None = None,
    ) -> None:
        level = logging.DEBUG if quiet else logging.INFO
        handler = _sole_json_handler(level)
        if handler is None:
            if access_log.isEnabledFor(level):
                fields = {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": duration_ms,
                    "session": session,
                }
                if upstream is not None:
                    fields["upstream"] = upstream
                access_log.log(level, "request", extra=fields)
            return
        if not access_log.isEnabledFor(level):
            return
        self._pending.append(
            self.line(time.time(), quiet, request_id, method, route, status, duration_ms, session, upstream)
        )
        if self._handler is None:
            self._handler = handler
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop (a synchronous caller): now
                self.flush()

    def line(
        self,
        created: float,
        quiet: bool,
        request_id: str,
        method: str,
        route: str,
        status: int,
        duration_ms: float,
        session: str | None,
        upstream: str | None = None,
    ) -> str:
        """The line (and its newline) JsonFormatter writes for this access record made at ``created``."""
        second = int(created)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._stamp = stamp
        msecs = int((created - second) * 1000)
        # A call to an upstream of BFF_UPSTREAMS names it, as JsonFormatter writes an extra field.
        tail = "" if upstream is None else ',"upstream":' + encode_basestring_ascii(upstream)
        return (
            f'{{"time":"{stamp[1]}.{msecs:03d}Z","level":"{"debug" if quiet else "info"}",'
            f'"logger":"bff.access","message":"request","request_id":{encode_basestring_ascii(request_id)},'
            f'"method":{encode_basestring_ascii(method)},"route":{encode_basestring_ascii(route)},'
            f'"status":{status!r},"duration_ms":{duration_ms!r},'
            f'"session":{"null" if session is None else encode_basestring_ascii(session)}{tail}}}\n'
        )

    def flush(self) -> None:
        """Write the lines waiting, in one write (the end of the loop turn they were made in)."""
        handler, self._handler = self._handler, None
        lines, self._pending = self._pending, []
        if handler is None or not lines:
            return
        handler.acquire()
        try:
            # As logging does: a closed or broken stream must not break the requests.
            with contextlib.suppress(OSError, ValueError):
                handler.stream.write("".join(lines))
                handler.flush()
        finally:
            handler.release()


def _sole_json_handler(level: int) -> logging.StreamHandler[Any] | None:
    """The root's JSON stream handler when it alone would see an access record at ``level``, else None."""
    if access_log.handlers or access_log.filters or access_log.disabled or not access_log.propagate:
        return None
    parent = access_log.parent
    while parent is not None and parent is not logging.root:
        if parent.handlers or not parent.propagate:
            return None
        parent = parent.parent
    handlers = logging.root.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or handler.filters
        or handler.level > level
        or not isinstance(handler.formatter, JsonFormatter)
    ):
        return None
    return handler


_LINES = AccessLines()
