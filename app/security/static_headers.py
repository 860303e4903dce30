"""Security headers for the files the BFF serves from ``BFF_STATIC_DIR`` (the SPA).

Example::

    app.mount("/", StaticHeaders(StaticFiles(directory="web", html=True)))

A ``<meta>`` Content-Security-Policy cannot say who may frame the page (``frame-ancestors``) and cannot stop
MIME sniffing; these headers can. The login page is the one page a clickjacking frame would want.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS: list[tuple[bytes, bytes]] = [
    # The page's own CSP (a <meta> in index.html) governs scripts; this adds what only a header can.
    (b"content-security-policy", b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class StaticHeaders:
    """Adds :data:`HEADERS` to every answer of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
