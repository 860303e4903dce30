"""The seam through which a tenant client is traced: a hook it is given, called once per outbound call.

Example::

    with trace("start", "POST") as span:             # call: a fixed label, never a path or an id
        request.headers.update(span.headers)         # traceparent (and tracestate) for the tenant
        response = await send(request)
        span.answered(response.status_code)

A hook rather than a wrapped transport, so that any client (httpx for logins, the proxy's data plane) is
traced the same way by a few lines of its own, and this floor knows nothing of the clients it traces.
An exception leaving the block marks the span failed, by the exception's type name only (its message can
carry what a span must not). :meth:`app.observe.tracing.Tracing.call` is the hook when tracing is on.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol


class CallSpan(Protocol):
    """One outbound call's span, as the client sees it."""

    #: The headers to add to the outgoing request (W3C ``traceparent``, ``tracestate``).
    headers: dict[str, str]

    def answered(self, status: int) -> None:
        """Record the status the tenant answered with."""


#: ``trace(call, method, route=None)``: a context manager around one outbound call.
TraceHook = Callable[..., AbstractContextManager[CallSpan]]
