"""The app factory: ``create_app(settings)`` wires the two entry points, their middleware and the lifespan.

Example::

    app = create_app(Settings(bff_cookie_secure=False))

Two siblings serve the app: ``proxy/`` takes ``/api`` (inside the access log and tracing, with the header
budget and CSRF/Origin checks as its guards), and FastAPI's routers (``routes/``) take ``/auth`` and the ops
routes, behind the same checks as middleware.

``app`` (module level) is what ``uvicorn app.main:app`` serves: it reads its settings from the environment
and, on a bad setting, prints one line naming the variable and exits with status 2.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from app.configuration import load_settings_or_exit
from app.errors import BFFError, InvalidRequest, MethodNotAllowed, NotFound, RequestError, StoreUnavailable
from app.identity.client import TenantClient
from app.identity.upstream import TracedUpstream, Upstream
from app.observe.access import AccessMiddleware
from app.observe.logs import configure_logging
from app.observe.metrics import Metrics
from app.observe.metrics_listener import MetricsListener
from app.proxy.forward import Guard, Proxy
from app.proxy.mount import Mounted, ProxyFirstFastAPI, dispatcher
from app.proxy.target import upstream_target
from app.routes import jwks, login, openapi, ops, session
from app.routes import oauth as oauth_routes
from app.routes.responses import error_response
from app.routes.static import SpaFiles
from app.security.cors import Cors, other_site_origins
from app.security.csrf import CsrfOriginCheck, CsrfOriginMiddleware, guarded
from app.security.limits import HeaderBudget, RequestLimitsMiddleware
from app.security.static_headers import StaticHeaders
from app.services import Services
from app.sessions.keyring import Keyring
from app.settings import Settings
from app.store.protocol import Store
from app.upstreams.assertions import AssertionKeys, AssertionSigner
from app.upstreams.credentials import credential_for
from app.variable_names import warn_unknown_variables

log = logging.getLogger("bff")


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], float] = time.time,
    tenant: TenantClient | None = None,
    tracer_provider: Any = None,
) -> FastAPI:
    """Build the BFF from ``settings`` (read from the environment when omitted).

    ``tracer_provider``: an OpenTelemetry provider for ``BFF_OTEL_ENABLED`` (tests); by default the SDK's.
    """
    settings = settings or load_settings_or_exit()
    metrics = Metrics(revision=settings.bff_revision)
    # Off: opentelemetry is never imported and nothing joins the request path.
    tracing = None
    if settings.bff_otel_enabled:
        from app.observe.tracing import Tracing

        tracing = Tracing.from_settings(settings, tracer_provider)
    allowed_origins = frozenset(settings.bff_allowed_origins)

    # /api: the proxy runs the header budget and then the CSRF/Origin check itself, as function calls (the
    # order the middleware below runs them in for every other route), inside the access log and tracing.
    guards = (HeaderBudget().refusal, CsrfOriginCheck(allowed_origins).refusal)
    proxy = Proxy(settings, metrics, guards=guards)
    # Each upstream of BFF_UPSTREAMS: a proxy of the same class behind the same guards and the same stack.
    assertion_keys = AssertionKeys.from_settings(settings) if settings.assertion_upstreams else None
    upstreams = _upstream_proxies(settings, metrics, guards, assertion_keys, clock)
    mounted = [Mounted(upstream) for upstream in upstreams]
    api: ASGIApp = AccessMiddleware(dispatcher(proxy, mounted), metrics=metrics)
    if tracing is not None:
        from app.observe.tracing import TracingMiddleware

        api = TracingMiddleware(api, tracing=tracing)
    production = settings.bff_env == "production"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        trace = None if tracing is None else tracing.call
        services = Services.open(settings, metrics=metrics, clock=clock, tenant=tenant, trace=trace)
        app.state.services = services
        upstream = None if trace is None else TracedUpstream(Upstream.from_settings(settings), trace)
        await proxy.open(services.sessions, upstream, refresher=services.refresher)
        for upstream_proxy in upstreams:
            target = upstream_proxy.target
            traced = None
            if trace is not None:
                traced = TracedUpstream(target.open_client(), trace, route=target.route, name=target.name)
            await upstream_proxy.open(services.sessions, traced, refresher=services.refresher)
        listener = None
        if settings.bff_metrics_port is not None:
            listener = MetricsListener(metrics, settings.bff_metrics_port)
            await listener.start()
        log.info(
            "started",
            extra={
                "env": settings.bff_env,
                "tenant": settings.tenant_url,
                "store": "redis" if settings.bff_redis_url else "memory",
                "login_modes": ",".join(settings.bff_login_modes),
                "upstreams": ",".join(config.name for config in settings.bff_upstreams) or None,
            },
        )
        tune_collector()
        # Start-up does not wait for Redis (readiness does), but an unreachable one is said at once.
        store_check = asyncio.create_task(_check_store(services.store))
        try:
            yield
        finally:
            store_check.cancel()
            if listener is not None:
                await listener.aclose()
            await proxy.aclose()
            for upstream_proxy in upstreams:
                await upstream_proxy.aclose()
            await services.aclose()
            if tracing is not None:
                tracing.shutdown()

    # /api/* goes to `api`, ahead of FastAPI's middleware and routing; the rest to the routers below.
    # CORS only when origins are listed: without any, a same-origin app pays nothing for it, and the guards
    # already refuse any foreign origin's preflight (403 origin).
    # The upstreams' prefixes are answered like /api's, preflights included.
    cors = Cors(allowed_origins, guarded_path=_guarded_with(mounted)) if allowed_origins else None
    for origin in other_site_origins(allowed_origins, settings.bff_public_url):
        log.warning(
            "BFF_ALLOWED_ORIGINS lists an origin of another site than BFF_PUBLIC_URL: the SameSite=Strict "
            "session cookie is not sent from there, so its calls have no session",
            extra={"origin": origin},
        )
    app = ProxyFirstFastAPI(
        api=api,
        proxy=proxy,
        upstreams=mounted,
        cors=cors,
        preflight=None if cors is None else AccessMiddleware(cors.preflight, metrics=metrics),
        title="CyberArk Identity BFF",
        version="0.1.0",
        summary="Runs CyberArk Identity logins server-side; proxies allow-listed calls with the user's token",
        lifespan=lifespan,
        docs_url=None if production else "/docs",
        # The API's description is for developers, not for whoever reaches a production host.
        openapi_url=None if production else "/openapi.json",
        redoc_url=None,
        # A path is answered as it is: a redirect to its other spelling would be built from Host.
        redirect_slashes=False,
    )

    _install_error_handlers(app, metrics)
    app.include_router(ops.router)
    if settings.bff_metrics_port is None:
        app.include_router(ops.metrics_router)
    for routes in (login, session, oauth_routes):
        app.include_router(routes.router)
    if assertion_keys is not None:
        app.include_router(jwks.jwks_router(assertion_keys.jwks()))
    openapi.install(app, settings)
    if settings.bff_static_dir is not None:
        spa = SpaFiles(directory=settings.bff_static_dir, html=True)
        app.mount("/", StaticHeaders(spa), name="static")

    # Each add wraps the previous: the access log sees every answer, including size and CSRF refusals.
    app.add_middleware(CsrfOriginMiddleware, allowed_origins=allowed_origins)
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(AccessMiddleware, metrics=metrics)
    if tracing is not None:
        from app.observe.tracing import TracingMiddleware

        app.add_middleware(TracingMiddleware, tracing=tracing)
    return app


def _guarded_with(upstreams: list[Mounted]) -> Callable[[str], bool]:
    """``/auth`` and ``/api`` (:func:`guarded`), and each upstream's prefix (case-insensitive, as guarded)."""
    if not upstreams:
        return guarded
    prefixes = tuple(upstream.prefix.lower() for upstream in upstreams)

    def guarded_path(path: str) -> bool:
        text = "/" + path.lstrip("/").lower()
        return guarded(path) or any(text == p or text.startswith(p + "/") for p in prefixes)

    return guarded_path


def _upstream_proxies(
    settings: Settings,
    metrics: Metrics,
    guards: tuple[Guard, ...],
    keys: AssertionKeys | None,
    clock: Callable[[], float],
) -> list[Proxy]:
    """A proxy per upstream of ``BFF_UPSTREAMS``, each with its credential (an assertion signer its own)."""
    sid = Keyring(settings.signing_secrets()).assertion_sid if keys is not None else None
    proxies = []
    for config in settings.bff_upstreams:
        signer = None
        if config.mode == "assertion" and keys is not None and sid is not None:
            issuer = settings.bff_public_url or ""  # required with assertion upstreams (settings)
            signer = AssertionSigner(keys, issuer=issuer, audience=config.audience, sid=sid, clock=clock)
        target = upstream_target(config, settings, credential_for(config.mode, signer))
        proxies.append(Proxy(settings, metrics, target=target, guards=guards))
    return proxies


def _install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    """Every error answer goes through :func:`error_response`: one JSON shape, never a traceback."""
    answer = error_response  # short alias: every handler below ends in it

    async def on_bff_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BFFError)  # noqa: S101 - registered for BFFError only
        if isinstance(exc, StoreUnavailable):
            metrics.store_errors.inc()
            log.warning("store unavailable", extra={"cause": type(exc.__cause__).__name__})
        return answer(exc)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        return answer(InvalidRequest())

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
        response = answer(_HTTP_ERRORS.get(exc.status_code, InvalidRequest)())
        # Starlette's own status and headers (Allow on a 405) stand, in the one error shape.
        response.status_code = exc.status_code
        response.headers.update(exc.headers or {})
        return response

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error", exc_info=exc)
        return answer(BFFError())

    app.add_exception_handler(BFFError, on_bff_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)


#: Allocations (minus deallocations) of container objects between two young-generation collections. A
#: proxied call allocates several hundred and frees nearly all of them by reference counting, so Python's
#: default (700) collects about once per call, finding next to nothing; at 10,000 the young collections are
#: ~14x rarer (callgrind: 2% fewer instructions per call). Cycles still die, a little later.
YOUNG_COLLECTION_THRESHOLD = 10_000


def tune_collector() -> None:
    """Set the process's garbage collector for serving (idempotent; called at the end of start-up)."""
    # Everything built at start-up lives as long as the process: moving it out of the collector's reach
    # keeps full collections short, and so the latency spikes (p99) they cause under load.
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


async def _check_store(store: Store) -> None:
    try:
        await store.ping()
    except StoreUnavailable as exc:
        log.warning(
            "session store unreachable at start-up: /readyz answers 503 until it is reachable",
            extra={"cause": type(exc.__cause__).__name__},
        )


#: Starlette's routing errors as members of the one exception tree; any other status is invalid_request.
_HTTP_ERRORS: dict[int, type[RequestError]] = {404: NotFound, 405: MethodNotAllowed}


def _app_from_env() -> FastAPI:
    settings = load_settings_or_exit()
    configure_logging(settings.bff_log_level)
    warn_unknown_variables()
    return create_app(settings)


def __getattr__(name: str) -> Any:
    # `app` is built on first access so that importing create_app never reads the environment.
    if name == "app":
        application = _app_from_env()
        globals()["app"] = application
        return application
    raise AttributeError(name)
