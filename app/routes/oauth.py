"""The OAuth 2.0 login routes (api.md §2): ``/auth/options``, ``/auth/oauth/login``, ``/auth/oauth/callback``.

The two OAuth routes are top-level browser navigations, not fetch calls: they answer redirects, never JSON
(except the documented 400, 404 and 429 refusals of the login navigation). Every failure of the callback is
``302 /?login_error=<code>`` with the login cookie cleared, no session made and any session the browser
already has left alone; the tenant's ``error_description`` goes nowhere.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from app.errors import InvalidRequest, NotFound, RateLimited, TenantError
from app.identity.oauth import OAuthClient
from app.login.oauth import LoginError, OAuthLoginFlow, local_return_to
from app.observe.logs import audit
from app.routes.deps import AppMetrics, AppSettings, ClientIP, Limiter, OAuthFlowOrNone, Sessions
from app.routes.responses import NoStoreRoute, documented_errors
from app.security.client_ip import limit_key
from app.security.cookies import clear_oauth_login_cookie, oauth_login_cookie, session_cookie
from app.sessions.records import Session
from app.sessions.service import SessionService
from app.settings import Settings

log = logging.getLogger("bff.oauth")

router = APIRouter(prefix="/auth", tags=["auth"], route_class=NoStoreRoute)


class LoginOptions(BaseModel):
    login_modes: list[Literal["api", "oauth"]]


class LoggedOut(BaseModel):
    end_session_url: str


@router.get(
    "/options",
    response_model=LoginOptions,
    summary="The login modes this BFF offers (no session needed)",
    responses=documented_errors({}),
)
async def options(settings: AppSettings) -> LoginOptions:
    return LoginOptions.model_validate({"login_modes": settings.bff_login_modes})


def _flow(flow: OAuthFlowOrNone) -> OAuthLoginFlow:
    if flow is None:
        raise NotFound()  # BFF_LOGIN_MODES has no oauth: these routes do not exist
    return flow


Flow = Annotated[OAuthLoginFlow, Depends(_flow)]


def _single(request: Request, name: str) -> str | None:
    """The one value of query parameter ``name``; a repeated one is refused (RFC 6749 §3.1)."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidRequest(f"{name} appears more than once")
    return values[0] if values else None


def _redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=302)
    # The answer carries a login's cookies: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/oauth/login",
    status_code=302,
    response_class=RedirectResponse,
    summary="Start an OAuth login: 302 to the tenant's authorize page (a navigation, not a fetch)",
    responses=documented_errors(
        {
            400: "invalid_request: return_to is not a local path",
            404: "not_found: the oauth login mode is off",
            429: "rate_limited, with retry_after and Retry-After",
        }
    ),
)
async def oauth_login(
    request: Request,
    flow: Flow,
    settings: AppSettings,
    limiter: Limiter,
    metrics: AppMetrics,
    ip: ClientIP,
) -> Response:
    return_to = local_return_to(_single(request, "return_to"))
    try:
        # The same bucket as /auth/login: one client IP's login attempts, whichever mode.
        await limiter.hit("login-ip", limit_key(ip), settings.ip_rate_limit)
    except RateLimited:
        metrics.logins.labels(mode="oauth", outcome="rate_limited").inc()
        audit("rate_limited", by="bff", scope="login-ip", mode="oauth")
        raise
    url, cookie = flow.begin(return_to)
    metrics.logins.labels(mode="oauth", outcome="started").inc()
    audit("login_started", mode="oauth")
    response = _redirect(url)
    response.raw_headers.append(oauth_login_cookie(settings, cookie, settings.bff_login_timeout))
    return response


@router.get(
    "/oauth/callback",
    status_code=302,
    response_class=RedirectResponse,
    summary="The tenant's redirect back: 302 to return_to with a new session, or to /?login_error=<code>",
    responses=documented_errors({404: "not_found: the oauth login mode is off", 503: "store_unavailable"}),
)
async def oauth_callback(
    request: Request,
    flow: Flow,
    settings: AppSettings,
    sessions: Sessions,
    metrics: AppMetrics,
    ip: ClientIP,
) -> Response:
    def failed(code: LoginError, reason: str) -> Response:
        metrics.logins.labels(mode="oauth", outcome="denied" if code == "access_denied" else "failed").inc()
        audit("login_failed", mode="oauth", reason=reason)
        response = _redirect(f"/?login_error={code}")
        response.raw_headers.append(clear_oauth_login_cookie(settings))
        return response

    try:
        code, state, error = (_single(request, name) for name in ("code", "state", "error"))
    except InvalidRequest:
        return failed("login_failed", "repeated parameter")
    pending = flow.open(request.cookies.get(settings.oauth_cookie_name))
    if pending is None:
        return failed("state_mismatch", "no live login cookie")
    if not pending.state_matches(state):
        return failed("state_mismatch", "state differs")
    if error is not None:
        # Only the tenant's error code is a known word; its error_description is never read.
        return failed("access_denied" if error == "access_denied" else "login_failed", "tenant error")
    if not code:
        return failed("login_failed", "no code")
    try:
        done = await flow.finish(pending, code)
    except TenantError as exc:
        log.info("oauth login refused", extra={"error": exc.code, "cause": str(exc)[:120]})
        return failed("login_failed", exc.code)

    tokens = done.tokens
    now = sessions.clock()
    access_expires_at = None if tokens.expires_in is None else now + tokens.expires_in
    cookie, session = await sessions.create(
        bearer=tokens.access_token,
        user=done.user.as_dict(),
        user_agent=request.headers.get("user-agent", "")[:256],
        ip=ip,
        login="oauth",
        access_expires_at=access_expires_at,
        refresh_token=tokens.refresh_token,
        # Without a refresh token the session cannot outlive its access token.
        lifetime=tokens.expires_in if tokens.refresh_token is None else None,
    )
    request.state.session = session.log_id
    metrics.logins.labels(mode="oauth", outcome="succeeded").inc()
    metrics.sessions.labels(event="created").inc()
    audit("login_succeeded", mode="oauth", session=session.log_id)
    response = _redirect(pending.return_to)
    response.raw_headers.append(clear_oauth_login_cookie(settings))
    response.raw_headers.append(session_cookie(settings, cookie, round(session.expires_at - now)))
    return response


async def end_oauth_session(
    oauth: OAuthClient | None, session: Session, sessions: SessionService, settings: Settings
) -> Response:
    """Logout of an OAuth session: revoke its tokens at the tenant, end it, and name the tenant's sign-out."""
    await _revoke(oauth, session)
    await sessions.delete(session)
    if oauth is None:
        return Response(status_code=204)  # OAuth was turned off since: no tenant sign-out to offer
    url = oauth.end_session_url(f"{settings.bff_public_url}/")
    return JSONResponse(LoggedOut(end_session_url=url).model_dump(), headers={"Cache-Control": "no-store"})


async def _revoke(oauth: OAuthClient | None, session: Session) -> None:
    """Best effort: the session ends either way, and the tokens lapse at their own expiry if this fails."""
    if oauth is None:
        return
    # Each on its own: a failed refresh-token revocation must not keep the access token alive too.
    tokens: list[tuple[str, Literal["refresh_token", "access_token"]]] = [(session.bearer, "access_token")]
    if session.refresh_token is not None:
        tokens.insert(0, (session.refresh_token, "refresh_token"))
    for token, hint in tokens:
        try:
            await oauth.revoke(token, hint)
        except TenantError as exc:
            extra = {"error": exc.code, "hint": hint, "session": session.log_id}
            log.info("token revocation failed", extra=extra)


# Documented for /auth/logout: an OAuth session's answer.
LOGOUT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": LoggedOut, "description": "an OAuth session: the tenant's sign-out URL"}
}
