"""/api mounted ahead of FastAPI: the app that hands every /api request to the proxy's own ASGI stack.

Example::

    proxy = Proxy(settings, metrics, guards=(HeaderBudget().refusal, CsrfOriginCheck(origins).refusal))
    app = ProxyFirstFastAPI(api=AccessMiddleware(proxy.handle, metrics), proxy=proxy, title="...")

``api`` is built in full by the caller (app/main.py): the layers a proxied call goes through (access log,
tracing) and the proxy, whose guards run the header budget and CSRF/Origin checks as function calls. A
proxied call skips FastAPI's routing, dependency injection and Starlette's error/telemetry/body-limit layers:
on the hot path they cost more CPU than the call itself, and every extra coroutine layer is paid again on
each resume (each Redis and tenant round trip). Everything else goes to FastAPI and its own middleware.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app.proxy.inbound import is_api_path

if TYPE_CHECKING:
    from app.proxy.forward import Proxy

#: The access log's and metrics' route label for every proxied call (bounded: never the raw path).
ROUTE_LABEL = "/api/{path}"


class ProxyFirstFastAPI(FastAPI):
    """A FastAPI app whose /api/* is served by ``api`` (the proxy in its layers), outside the router."""

    def __init__(self, *args: Any, api: ASGIApp, proxy: Proxy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = api
        #: The proxy inside ``api`` (opened and closed by the lifespan).
        self.proxy = proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_api_path(scope["path"]):
            scope["bff_route"] = ROUTE_LABEL
            await self.api(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
