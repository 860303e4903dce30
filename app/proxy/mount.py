"""/api (and every upstream's prefix) mounted ahead of FastAPI: the proxy's own ASGI stack takes them.

Example::

    proxy = Proxy(settings, metrics, guards=(HeaderBudget().refusal, CsrfOriginCheck(origins).refusal))
    app = ProxyFirstFastAPI(api=AccessMiddleware(proxy.handle, metrics), proxy=proxy, title="...")
    # with BFF_UPSTREAMS: the same stack serves every prefix, each call handed to its target's proxy
    handle = dispatcher(proxy, [Mounted(orders_proxy)])
    app = ProxyFirstFastAPI(api=AccessMiddleware(handle, metrics), proxy=proxy, upstreams=[...], title="...")

``api`` is built in full by the caller (app/main.py): the layers a proxied call goes through (access log,
tracing) and the proxy, whose guards run the header budget and CSRF/Origin checks as function calls. A
proxied call skips FastAPI's routing, dependency injection and Starlette's error/telemetry/body-limit layers:
on the hot path they cost more CPU than the call itself, and every extra coroutine layer is paid again on
each resume (each Redis and tenant round trip). Everything else goes to FastAPI and its own middleware.
An upstream's calls take the very same ``api`` stack as /api's, so whatever wraps /api wraps them too.

With ``cors`` (origins listed in ``BFF_ALLOWED_ORIGINS``), the front door also speaks CORS for every route:
a preflight goes to ``preflight`` (its answer in the access log), and the answer to a listed origin passes
through ``cors.sender``. It adds no coroutine layer: a same-origin call costs one scan of its headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
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
#: Where the mount leaves the proxy that serves an upstream's call (absent: the tenant's).
PROXY_KEY = "bff_proxy"


class Mounted:
    """An upstream's proxy at its prefix: ``Mounted(proxy)`` (its target names the prefix and route)."""

    __slots__ = ("name", "prefix", "proxy", "route", "under")

    def __init__(self, proxy: Proxy) -> None:
        target = proxy.target
        self.proxy = proxy
        self.name = target.name
        self.prefix = target.prefix.decode("ascii")
        self.under = self.prefix + "/"
        self.route = target.route


Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def dispatcher(tenant: Proxy, upstreams: Sequence[Mounted] = ()) -> Handler:
    """The innermost handler of the ``api`` stack: the tenant's proxy, or the one the mount picked.

    Without upstreams it is the tenant proxy's own ``handle``: /api pays nothing for the feature.
    """
    if not upstreams:
        return tenant.handle
    handle = tenant.handle

    def dispatch(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function returning the coroutine: no coroutine frame of its own to resume on every await.
        proxy = scope.get(PROXY_KEY)
        return handle(scope, receive, send) if proxy is None else proxy.handle(scope, receive, send)

    return dispatch


class ProxyFirstFastAPI(FastAPI):
    """A FastAPI app whose /api/* (and upstreams' prefixes) are served by ``api``, outside the router."""

    def __init__(
        self,
        *args: Any,
        api: ASGIApp,
        proxy: Proxy,
        upstreams: Sequence[Mounted] = (),
        cors: Cors | None = None,
        preflight: ASGIApp | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.api = api
        #: The proxy inside ``api`` (opened and closed by the lifespan).
        self.proxy = proxy
        #: The upstreams' proxies at their prefixes, served by the same ``api``.
        self.upstreams = tuple(upstreams)
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
            path = scope["path"]
            if is_api_path(path):
                scope["bff_route"] = ROUTE_LABEL
                await self.api(scope, receive, send)
                return
            for upstream in self.upstreams:
                # The decoded path picks the upstream (as the router would); its proxy then insists that the
                # raw bytes say the same prefix, as /api's does. CORS (above) is the same as /api's.
                if path.startswith(upstream.under) or path == upstream.prefix:
                    scope["bff_route"] = upstream.route
                    scope["bff_upstream"] = upstream.name
                    scope[PROXY_KEY] = upstream.proxy
                    await self.api(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
