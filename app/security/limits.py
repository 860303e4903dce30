"""Request size limits (plain ASGI): total header bytes for every route, and the body of the JSON routes.

Example::

    app = RequestLimitsMiddleware(app, max_header_bytes=16384, max_json_bytes=65536)
    HeaderBudget(16384).refusal(scope)  # the header check alone (the proxy's guard): 431 error or None

The proxy reads its bodies under its own limit and deadline (``BFF_MAX_BODY_BYTES``,
``BFF_PROXY_BODY_TIMEOUT``: app/proxy/body.py); every other route takes small
JSON, so its body is read here, up to ``max_json_bytes``, before any handler parses it: a large or endless
body costs the BFF at most that much memory and never reaches the JSON parser.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import BFFError, BodyTimeout, BodyTooLarge, HeadersTooLarge, send_error

#: The header budget: as much as Node's default (16 KiB); a larger set is almost always an attack or a bug.
MAX_HEADER_BYTES = 16 * 1024
#: Login steps, session calls: a few hundred bytes each.
MAX_JSON_BYTES = 64 * 1024
#: Seconds a JSON body may take to arrive; a client that promises a body and never sends it is let go.
BODY_TIMEOUT = 10.0


class HeaderBudget:
    """The header budget of every route: ``HeaderBudget(max_bytes).refusal(scope)``.

    The proxy runs it as one of its guards (app/main.py); the middleware below runs it for every other route.
    """

    def __init__(self, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.max_bytes = max_bytes

    def refusal(self, scope: Scope) -> BFFError | None:
        """431 when the request's headers exceed the budget, else None."""
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self.max_bytes:
            return HeadersTooLarge()
        return None


class RequestLimitsMiddleware:
    """Answers 431 for oversized headers, and outside ``/api`` 413 for a large body, 408 for a slow one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_header_bytes: int = MAX_HEADER_BYTES,
        max_json_bytes: int = MAX_JSON_BYTES,
        body_timeout: float = BODY_TIMEOUT,
        streamed_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.header_refusal = HeaderBudget(max_header_bytes).refusal
        self.max_json_bytes = max_json_bytes
        self.body_timeout = body_timeout
        self.streamed_prefix = streamed_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self.header_refusal(scope)
        if error is not None:
            await send_error(send, error)
            return
        if scope["path"].startswith(self.streamed_prefix) or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_body(receive)
        except TimeoutError:
            await send_error(send, BodyTimeout())
            return
        if body is None:
            await send_error(send, BodyTooLarge())
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_json_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # After the body, pass the real channel through so disconnects are still seen.
        return await receive()

    return replay
