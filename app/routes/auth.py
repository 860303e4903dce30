"""The SPA's /auth routes: the login steps, the session, logout and the user's other sessions."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

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
from app.login.steps import AdvanceRequest, AnswerRequest, EmptyRequest, LoginRequest, Step, UserView
from app.observe.logs import audit
from app.routes.deps import (
    AppMetrics,
    AppSettings,
    ClientIP,
    Clock,
    CurrentSession,
    Limiter,
    Logins,
    OAuthClientOrNone,
    Sessions,
    Tenant,
    services_of,
)
from app.routes.oauth import LOGOUT_RESPONSES, end_oauth_session
from app.routes.responses import NoStoreRoute, documented_errors, error_response
from app.security.client_ip import limit_key
from app.security.cookies import clear_login_cookie, clear_session_cookie, login_cookie, session_cookie
from app.sessions.service import Session
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


_UPSTREAM = {
    502: "upstream_unavailable or upstream_protocol_error",
    503: "store_unavailable, with Retry-After",
    504: "upstream_timeout",
}
_MODE_OFF = "not_found: the api login mode is off (BFF_LOGIN_MODES without api)"
_LOGIN_ERRORS = documented_errors(
    {
        401: "login_failed: wrong answer, unknown user, locked account or expired login, all alike",
        404: _MODE_OFF,
        409: "no_login_in_progress",
        429: "rate_limited, with retry_after and Retry-After",
        **_UPSTREAM,
    }
)
_SESSION_ERRORS = documented_errors({401: "unauthenticated", 503: _UPSTREAM[503]})


class SessionState(BaseModel):
    authenticated: bool
    user: UserView
    expires_at: datetime
    idle_expires_at: datetime
    login: Literal["api", "oauth"]


class SessionListItem(BaseModel):
    id: str
    current: bool
    created_at: datetime
    last_seen_at: datetime
    user_agent: str
    ip: str
    login: Literal["api", "oauth"]


def _iso(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


# Login -----------------------------------------------------------------------------------------------


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
        )

    async def _count_oob(self) -> int:
        handle = self.handle
        if handle is None:
            raise NoLoginInProgress()
        return await self.logins.count_oob(handle)

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
    handle, state = await _login_state(desk)
    answer = body.answer if isinstance(body, AnswerRequest) else None
    return await _run(desk, handle, state, desk.flow.advance(state, body.mechanism, answer=answer))


@_api_login_post(
    "/poll",
    response_model=Step,
    response_model_exclude_none=True,
    summary="Poll the pending out-of-band mechanism",
    responses=_LOGIN_ERRORS,
)
async def poll(desk: Desk, body: EmptyRequest | None = None) -> Response:
    handle, state = await _login_state(desk)
    return await _run(desk, handle, state, desk.flow.poll(state))


@_api_login_post(
    "/cancel",
    status_code=204,
    summary="Abandon the login in progress (CleanupAuthentication at the tenant)",
    responses=documented_errors({404: _MODE_OFF, 503: _UPSTREAM[503]}),
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
    settings, sessions, request = desk.settings, desk.sessions, desk.request
    await desk.logins.end(handle)
    previous = await sessions.load(request.cookies.get(settings.cookie_name), slide=False)
    if previous is not None:
        await sessions.delete(previous)
        desk.metrics.sessions.labels(event="replaced").inc()
    user = logged_in.user.model_dump()
    cookie, session = await sessions.create(
        bearer=logged_in.token,
        user={k: v for k, v in user.items() if v is not None},
        user_agent=request.headers.get("user-agent", "")[:256],
        ip=desk.ip,
        lifetime=logged_in.lifetime,
        # Only a pod is kept: a session of CYBERARK_TENANT_URL's own host needs no bytes for it.
        tenant_url=None if logged_in.base_url == desk.tenant.base_url else logged_in.base_url,
        login_name=login_name,
    )
    request.state.session = session.log_id
    desk.metrics.logins.labels(mode="api", outcome="succeeded").inc()
    desk.metrics.sessions.labels(event="created").inc()
    audit("login_succeeded", mode="api", session=session.log_id)
    response = _step_response(step)
    response.raw_headers.append(clear_login_cookie(settings))
    # The session's own lifetime: shorter than the configured one when the tenant's token lives less.
    max_age = settings.bff_session_max_lifetime
    if logged_in.lifetime is not None:
        max_age = max(1, min(max_age, math.floor(logged_in.lifetime)))
    response.raw_headers.append(session_cookie(settings, cookie, max_age))
    return response


def _step_response(step: AnyStep) -> JSONResponse:
    return JSONResponse(step.model_dump(mode="json", exclude_none=True))


# Session ---------------------------------------------------------------------------------------------


@router.get(
    "/session",
    response_model=SessionState,
    summary="The signed-in user; slide=false reads without extending the idle timer",
    responses=_SESSION_ERRORS,
)
async def session_state(session: CurrentSession) -> SessionState:
    return SessionState(
        authenticated=True,
        user=UserView.model_validate(session.user),
        expires_at=_iso(session.expires_at),
        idle_expires_at=_iso(session.idle_expires_at),
        login=session.login,
    )


@router.post(
    "/logout",
    status_code=204,
    summary="Log out at the tenant and end the session; 204 also without a session (200 for OAuth sessions)",
    responses={**documented_errors({503: _UPSTREAM[503]}), **LOGOUT_RESPONSES},
)
async def logout(
    request: Request,
    sessions: Sessions,
    tenant: Tenant,
    settings: AppSettings,
    metrics: AppMetrics,
    oauth: OAuthClientOrNone,
) -> Response:
    response = Response(status_code=204)
    session = await sessions.load(request.cookies.get(settings.cookie_name), slide=False)
    if session is not None and session.login == "oauth":
        request.state.session = session.log_id
        response = await end_oauth_session(oauth, session, sessions, settings)
        metrics.sessions.labels(event="logout").inc()
        audit("logout", mode="oauth", session=session.log_id)
    elif session is not None:
        request.state.session = session.log_id
        try:
            await tenant.logout(session.bearer, session.tenant_url)
        except TenantError as exc:
            # The BFF session ends regardless; the token lapses at its expiry if the tenant missed the logout.
            log.info("tenant logout failed", extra={"cause": type(exc).__name__, "session": session.log_id})
        await sessions.delete(session)
        metrics.sessions.labels(event="logout").inc()
        audit("logout", mode="api", session=session.log_id)
    response.raw_headers.append(clear_session_cookie(settings))
    return response


@router.get(
    "/sessions",
    response_model=list[SessionListItem],
    summary="The caller's live sessions",
    responses=_SESSION_ERRORS,
)
async def list_sessions(session: CurrentSession, sessions: Sessions) -> list[SessionListItem]:
    return [
        SessionListItem(
            id=info.id,
            current=info.current,
            created_at=_iso(info.created_at),
            last_seen_at=_iso(info.last_seen_at),
            user_agent=info.user_agent,
            ip=info.ip,
            login=info.login,
        )
        for info in await sessions.list_for(session)
    ]


@router.delete(
    "/sessions/{session_id}",
    status_code=204,
    summary="End one of the caller's own sessions",
    responses=documented_errors(
        {401: "unauthenticated", 404: "not_found: not one of the caller's sessions", 503: _UPSTREAM[503]}
    ),
)
async def revoke_session(
    session_id: str, session: CurrentSession, sessions: Sessions, settings: AppSettings, metrics: AppMetrics
) -> Response:
    if len(session_id) > 128 or not await sessions.revoke(session, session_id):
        raise NotFound()
    metrics.sessions.labels(event="revoked").inc()
    audit("session_revoked", session=session.log_id, current=session_id == session.public_id)
    response = Response(status_code=204)
    if session_id == session.public_id:
        response.raw_headers.append(clear_session_cookie(settings))
    return response


__all__ = ["Session", "router"]
