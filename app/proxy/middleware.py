"""The plain-ASGI layer that takes ``/api`` and everything under it before FastAPI's routing.

Example::

    app.add_middleware(ProxyMiddleware, proxy=Proxy(settings, metrics))  # inside CsrfOriginMiddleware

Routing, dependency injection and Request objects cost more CPU than the whole proxied call; the hot path
therefore never enters FastAPI. Everything else passes through untouched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from app.proxy.forward import Proxy
from app.proxy.inbound import is_api_path

#: The access log's and metrics' route label for every proxied call (bounded: never the raw path).
ROUTE_LABEL = "/api/{path}"


class ProxyMiddleware:
    """``ProxyMiddleware(app, proxy=proxy)``: /api/* goes to ``proxy``, the rest to ``app``."""

    def __init__(self, app: ASGIApp, *, proxy: Proxy) -> None:
        self.app = app
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            scope["bff_route"] = ROUTE_LABEL
            await self.proxy.handle(scope, receive, send)
            return
        await self.app(scope, receive, send)
