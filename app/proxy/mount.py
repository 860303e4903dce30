"""/api mounted ahead of FastAPI: the app that hands every /api request to the proxy's own ASGI stack.

Example::

    proxy = Proxy(settings, metrics, guards=(HeaderBudget().refusal, CsrfOriginCheck(origins).refusal))
    app = ProxyFirstFastAPI(api=AccessMiddleware(proxy.handle, metrics), proxy=proxy, title="...")

``api`` is built in full by the caller (app/main.py): the layers a proxied call goes through (access log,
tracing) and the proxy, whose guards run the header budget and CSRF/Origin checks as function calls. A
proxied call skips FastAPI's routing, dependency injection and Starlette's error/telemetry/body-limit layers:
on the hot path they cost more CPU than the call itself, and every extra coroutine layer is paid again on
each resume (each Redis and tenant round trip). Everything else goes to FastAPI and its own middleware.

With ``cors`` (origins listed in ``BFF_ALLOWED_ORIGINS``), the front door also speaks CORS for every route:
a preflight goes to ``preflight`` (its answer in the access log), and the answer to a listed origin passes
through ``cors.sender``. It adds no coroutine layer: a same-origin call costs one scan of its headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app.proxy.inbound import is_api_path
from app.security.cors import Cors

if TYPE_CHECKING:
    from app.proxy.forward import Proxy

#: The access log's and metrics' route label for every proxied call (bounded: never the raw path).
ROUTE_LABEL = "/api/{path}"
#: The route label of every CORS preflight, whatever its path.
PREFLIGHT_LABEL = "preflight"


class ProxyFirstFastAPI(FastAPI):
    """A FastAPI app whose /api/* is served by ``api`` (the proxy in its layers), outside the router."""

    def __init__(
        self,
        *args: Any,
        api: ASGIApp,
        proxy: Proxy,
        cors: Cors | None = None,
        preflight: ASGIApp | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.api = api
        #: The proxy inside ``api`` (opened and closed by the lifespan).
        self.proxy = proxy
        self.cors = cors
        self.preflight = preflight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            cors = self.cors
            if cors is not None:
                if scope["method"] == "OPTIONS" and cors.is_preflight(scope):
                    scope["bff_route"] = PREFLIGHT_LABEL
                    await (self.preflight or cors.preflight)(scope, receive, send)
                    return
                origin = cors.listed(scope["headers"])
                if origin is not None:
                    send = cors.sender(send, origin)
            if is_api_path(scope["path"]):
                scope["bff_route"] = ROUTE_LABEL
                await self.api(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
