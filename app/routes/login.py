"""The API login's routes (api.md §2 "Login"): ``/auth/login``, ``/advance``, ``/poll``, ``/cancel``.

The tenant's multi-step flow runs here, server-side; the browser holds a pre-auth handle in the login cookie
and gets one step at a time. The last step makes a session by :func:`app.login.promotion.promote`, as the
OAuth callback does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from app.errors import (
    LoginFailed,
    NoLoginInProgress,
    NotFound,
    RateLimited,
    TenantError,
    TenantProtocolError,
    TenantRateLimited,
)
from app.identity.models import LoggedIn
from app.login.flow import Advanced, AnyStep, LoginFlow, LoginState
from app.login.promotion import FinishedLogin, held_session, promote
from app.login.steps import AdvanceRequest, AnswerRequest, EmptyRequest, LoginRequest, Step
from app.observe.logs import audit
from app.routes.deps import (
    AppMetrics,
    AppSettings,
    ClientIP,
    Clock,
    Limiter,
    Logins,
    Sessions,
    Tenant,
    services_of,
)
from app.routes.responses import UPSTREAM_ERRORS, NoStoreRoute, documented_errors, error_response
from app.security.client_ip import limit_key
from app.security.cookies import clear_login_cookie, login_cookie, session_cookie
from app.settings import RateLimit

log = logging.getLogger("bff.auth")

router = APIRouter(prefix="/auth", tags=["auth"], route_class=NoStoreRoute)


class ApiLoginRoute(NoStoreRoute):
    """A route of the API login (/auth/login, /advance, /poll, /cancel): with ``api`` not among
    ``BFF_LOGIN_MODES`` it answers ``404 not_found``, as the OAuth routes do with ``oauth`` off.

    The check comes before anything else of the route: the body (which may hold a password) is never parsed
    or validated (the size-limit middleware buffers every /auth body, and this one is then dropped), no rate
    limit is counted and the tenant is never called.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def api_login_only(request: Request) -> Response:
            if not services_of(request).settings.api_login_enabled:
                return error_response(NotFound())
            return await handler(request)

        return api_login_only


def _api_login_post(path: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@router.post(path, **options)`` as an :class:`ApiLoginRoute`."""

    def add(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["POST"], route_class_override=ApiLoginRoute, **options)
        return endpoint

    return add


_MODE_OFF = "not_found: the api login mode is off (BFF_LOGIN_MODES without api)"
_LOGIN_ERRORS = documented_errors(
    {
        401: "login_failed: wrong answer, unknown user, locked account or expired login, all alike",
        404: _MODE_OFF,
        409: "no_login_in_progress, or step_in_progress: another step of this login is still running",
        429: "rate_limited, with retry_after and Retry-After",
        **UPSTREAM_ERRORS,
    }
)


@dataclass
class LoginDesk:
    """What every login route needs, gathered once per request."""

    request: Request
    settings: AppSettings
    logins: Logins
    sessions: Sessions
    limiter: Limiter
    metrics: AppMetrics
    ip: ClientIP
    tenant: Tenant
    clock: Clock

    @cached_property
    def flow(self) -> LoginFlow:
        return LoginFlow(
            self.tenant,
            poll_min_interval=self.settings.bff_poll_min_interval,
            count_oob=self._count_oob,
            clock=self.clock,
            before_oob=self._limit_oob,
            count_pin=self._count_pin,
        )

    async def _count_oob(self) -> int:
        handle = self.handle
        if handle is None:
            raise NoLoginInProgress()
        return await self.logins.count_oob(handle)

    async def _count_pin(self) -> int:
        handle = self.handle
        if handle is None:
            raise NoLoginInProgress()
        return await self.logins.count_pin(handle)

    @property
    def handle(self) -> str | None:
        return self.request.cookies.get(self.settings.login_cookie_name)

    async def _limit_oob(self, username: str) -> None:
        await self.limit("oob-user", username.casefold(), self.settings.oob_rate_limit)

    async def limit(self, scope: str, value: str, limit: RateLimit) -> None:
        try:
            await self.limiter.hit(scope, value, limit)
        except RateLimited:
            self.metrics.logins.labels(mode="api", outcome="rate_limited").inc()
            audit("rate_limited", by="bff", scope=scope)
            raise


Desk = Annotated[LoginDesk, Depends()]


@_api_login_post(
    "/login",
    response_model=Step,
    response_model_exclude_none=True,
    summary="Start a login: StartAuthentication at the tenant; answers the first step",
    responses=_LOGIN_ERRORS,
)
async def login(body: LoginRequest, response: Response, desk: Desk) -> AnyStep:
    settings = desk.settings
    await desk.limit("login-ip", limit_key(desk.ip), settings.ip_rate_limit)
    await desk.limit("login-user", body.username.casefold(), settings.username_rate_limit)
    await _abandon(desk)
    try:
        step, state = await desk.flow.begin(body.username)
    except TenantRateLimited:
        desk.metrics.logins.labels(mode="api", outcome="rate_limited").inc()
        audit("rate_limited", by="tenant", stage="start")
        raise
    desk.metrics.logins.labels(mode="api", outcome="started").inc()
    audit("login_started", mode="api", federated=state.federated)
    handle = await desk.logins.begin(state.to_dict())
    response.raw_headers.append(login_cookie(settings, handle, settings.bff_login_timeout))
    return step


@_api_login_post(
    "/advance",
    response_model=Step,
    response_model_exclude_none=True,
    summary="Answer a mechanism, or start it out of band (action: start_oob)",
    responses=_LOGIN_ERRORS,
)
async def advance(body: AdvanceRequest, desk: Desk) -> Response:
    answer = body.answer if isinstance(body, AnswerRequest) else None
    async with desk.logins.one_step(desk.handle):
        handle, state = await _login_state(desk)
        return await _run(desk, handle, state, desk.flow.advance(state, body.mechanism, answer=answer))


@_api_login_post(
    "/poll",
    response_model=Step,
    response_model_exclude_none=True,
    summary="Poll the pending out-of-band mechanism",
    responses=_LOGIN_ERRORS,
)
async def poll(desk: Desk, body: EmptyRequest | None = None) -> Response:
    async with desk.logins.one_step(desk.handle):
        handle, state = await _login_state(desk)
        return await _run(desk, handle, state, desk.flow.poll(state))


@_api_login_post(
    "/cancel",
    status_code=204,
    summary="Abandon the login in progress (CleanupAuthentication at the tenant)",
    responses=documented_errors({404: _MODE_OFF, 503: UPSTREAM_ERRORS[503]}),
)
async def cancel(desk: Desk, body: EmptyRequest | None = None) -> Response:
    response = Response(status_code=204)
    await _abandon(desk)
    response.raw_headers.append(clear_login_cookie(desk.settings))
    return response


async def _abandon(desk: LoginDesk) -> None:
    """End the browser's login in progress, if any, here and (best effort) at the tenant."""
    handle = desk.handle
    data = await desk.logins.load(handle) if handle else None
    if handle is None or data is None:
        return
    try:
        await desk.flow.cancel(LoginState.from_dict(data))
    except (TenantError, ValidationError) as exc:
        # The tenant forgets an abandoned SessionId on its own; the BFF's state goes either way.
        log.info("cleanup at the tenant failed", extra={"cause": type(exc).__name__})
    await desk.logins.end(handle)


async def _login_state(desk: LoginDesk) -> tuple[str, LoginState]:
    handle = desk.handle
    data = await desk.logins.load(handle) if handle else None
    if handle is None or data is None:
        if handle and await desk.logins.pin_spent(handle):
            # The login ended on its one PIN: a further step of it is that failure again, not a new start.
            raise LoginFailed()
        raise NoLoginInProgress()
    try:
        return handle, LoginState.from_dict(data)
    except ValidationError:
        await desk.logins.end(handle)
        raise NoLoginInProgress() from None


async def _run(desk: LoginDesk, handle: str, state: LoginState, call: Awaitable[Advanced]) -> Response:
    """Await one login call; keep, end or promote the login state by its outcome."""
    try:
        result = await call
    except (LoginFailed, TenantProtocolError) as exc:
        # The tenant's SessionId is spent: forget the login, and make the SPA start again.
        await desk.logins.end(handle)
        desk.metrics.logins.labels(mode="api", outcome="failed").inc()
        audit("login_failed", mode="api", reason=exc.code)
        failed = error_response(LoginFailed())
        failed.raw_headers.append(clear_login_cookie(desk.settings))
        return failed
    except TenantRateLimited:
        desk.metrics.logins.labels(mode="api", outcome="rate_limited").inc()
        audit("rate_limited", by="tenant", stage="advance")
        raise
    if result.logged_in is None:
        await desk.logins.save(handle, state.to_dict())
        return _step_response(result.step)
    return await _promote(desk, handle, result.step, result.logged_in, state.username)


async def _promote(
    desk: LoginDesk, handle: str, step: AnyStep, logged_in: LoggedIn, login_name: str
) -> Response:
    """The login succeeded: the pre-auth handle dies and a new session (new id, new key) is born."""
    settings, request = desk.settings, desk.request
    await desk.logins.end(handle)
    finished = FinishedLogin(
        mode="api",
        bearer=logged_in.token,
        user={k: v for k, v in logged_in.user.model_dump().items() if v is not None},
        lifetime=logged_in.lifetime,
        # Only a pod is kept: a session of CYBERARK_TENANT_URL's own host needs no bytes for it.
        tenant_url=None if logged_in.base_url == desk.tenant.base_url else logged_in.base_url,
        login_name=login_name,
    )
    made = await promote(
        desk.sessions,
        desk.metrics,
        finished,
        user_agent=request.headers.get("user-agent", ""),
        ip=desk.ip,
        # The fetch calls of an API login bring the Strict session cookie: the session held now ends.
        previous=await held_session(desk.sessions, request.cookies.get(settings.cookie_name)),
    )
    request.state.session = made.session.log_id
    response = _step_response(step)
    response.raw_headers.append(clear_login_cookie(settings))
    response.raw_headers.append(session_cookie(settings, made.cookie, made.max_age))
    return response


def _step_response(step: AnyStep) -> JSONResponse:
    return JSONResponse(step.model_dump(mode="json", exclude_none=True))
