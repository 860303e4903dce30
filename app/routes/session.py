"""The session's routes (api.md §2 "Session"): ``/auth/session``, ``/auth/logout``, ``/auth/sessions``.

Whichever way the user signed in: an OAuth session's logout also revokes its tokens at the tenant and names
the tenant's sign-out URL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.errors import NotFound, TenantError
from app.login.oauth import revoke_tokens
from app.login.steps import UserView
from app.observe.logs import audit
from app.routes.deps import AppMetrics, AppSettings, CurrentSession, OAuthClientOrNone, Sessions, Tenant
from app.routes.responses import UPSTREAM_ERRORS, NoStoreRoute, documented_errors
from app.security.cookies import clear_session_cookie

log = logging.getLogger("bff.auth")

router = APIRouter(prefix="/auth", tags=["auth"], route_class=NoStoreRoute)

_SESSION_ERRORS = documented_errors({401: "unauthenticated", 503: UPSTREAM_ERRORS[503]})


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


class LoggedOut(BaseModel):
    end_session_url: str


#: Documented for /auth/logout: an OAuth session's answer.
_LOGOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": LoggedOut, "description": "an OAuth session: the tenant's sign-out URL"}
}


def _iso(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


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
    responses={**documented_errors({503: UPSTREAM_ERRORS[503]}), **_LOGOUT_RESPONSES},
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
    cookie = request.cookies.get(settings.cookie_name)
    session = await sessions.load(cookie, slide=False)
    if session is not None and session.login == "oauth":
        request.state.session = session.log_id
        # Ended first, then revoked: a refresh racing this logout either stored its tokens before the end
        # (they are in what ``take`` returns) or finds the session gone and revokes its own.
        ended = await sessions.take(cookie, session)
        await revoke_tokens(oauth, ended)
        if ended.bearer != session.bearer:
            # The tokens from before that refresh: the old access token still works until it expires.
            await revoke_tokens(oauth, session)
        if oauth is not None:  # else OAuth was turned off since: no tenant sign-out to offer
            url = oauth.end_session_url(f"{settings.bff_public_url}/")
            response = JSONResponse(LoggedOut(end_session_url=url).model_dump())
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
        {
            401: "unauthenticated",
            404: "not_found: not one of the caller's sessions",
            503: UPSTREAM_ERRORS[503],
        }
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
