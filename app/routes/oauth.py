"""The OAuth 2.0 login routes (api.md §2): ``/auth/options``, ``/auth/oauth/login``, ``/auth/oauth/callback``.

The two OAuth routes are top-level browser navigations, not fetch calls: they answer redirects, never JSON
(except the documented 400 and 404 refusals of the login navigation). Every failure of the callback is
``302 /?login_error=<code>`` with the login cookie cleared, no session made and any session the browser
already has left alone; the tenant's ``error_description`` goes nowhere.

The login navigation costs the tenant nothing and any page on another site can make a browser request it,
so it is not counted against the per-IP login limit (ten ``<img>`` tags would otherwise lock a whole office
out of both logins); the callback is counted once it passes the state check and is about to call the token
endpoint. Each state is spent at its first callback (:meth:`OAuthLoginFlow.spend`).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from app.errors import InvalidRequest, NotFound, RateLimited, TenantError
from app.login.oauth import LoginError, OAuthLoginFlow
from app.login.promotion import FinishedLogin, held_session, promote
from app.observe.logs import audit
from app.routes.deps import AppMetrics, AppSettings, ClientIP, Limiter, OAuthFlowOrNone, Sessions
from app.routes.responses import NoStoreRoute, documented_errors
from app.routes.return_to import checked_return_to, login_error_url
from app.security.client_ip import limit_key
from app.security.cookies import clear_oauth_login_cookie, oauth_login_cookie, session_cookie

log = logging.getLogger("bff.oauth")

router = APIRouter(prefix="/auth", tags=["auth"], route_class=NoStoreRoute)


class LoginOptions(BaseModel):
    login_modes: list[Literal["api", "oauth"]]


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
            400: "invalid_request: return_to is not a local path or a URL on a listed origin",
            404: "not_found: the oauth login mode is off",
            503: "store_unavailable, with Retry-After",
        }
    ),
)
async def oauth_login(
    request: Request, flow: Flow, settings: AppSettings, sessions: Sessions, metrics: AppMetrics
) -> Response:
    return_to = checked_return_to(
        _single(request, "return_to"),
        origins=settings.bff_allowed_origins,
        allow_http=not settings.bff_cookie_secure,
    )
    # This same-site navigation brings the Strict session cookie; the callback (a redirect from the tenant's
    # site) will not: the session held now is remembered, sealed in the login cookie, to end at success.
    previous = await held_session(sessions, request.cookies.get(settings.cookie_name))
    url, cookie = flow.begin(return_to, previous)
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
    limiter: Limiter,
    metrics: AppMetrics,
    ip: ClientIP,
) -> Response:
    def failed(code: LoginError, reason: str, return_to: str = "/") -> Response:
        metrics.logins.labels(mode="oauth", outcome=_OUTCOMES.get(code, "failed")).inc()
        audit("login_failed", mode="oauth", reason=reason)
        # On the origin the login would have ended on: an SPA of another origin shows its own error.
        response = _redirect(login_error_url(return_to, code))
        response.raw_headers.append(clear_oauth_login_cookie(settings))
        return response

    try:
        code, state, error = (_single(request, name) for name in ("code", "state", "error"))
    except InvalidRequest:
        return failed("login_failed", "repeated parameter")
    pending = flow.open(request.cookies.get(settings.oauth_cookie_name))
    if pending is None:
        return failed("state_mismatch", "no live login cookie")
    back = pending.return_to
    if not pending.state_matches(state):
        return failed("state_mismatch", "state differs", back)
    if not await flow.spend(pending):
        return failed("state_mismatch", "state already used", back)
    if error is not None:
        # Only the tenant's error code is a known word; its error_description is never read.
        return failed("access_denied" if error == "access_denied" else "login_failed", "tenant error", back)
    if not code:
        return failed("login_failed", "no code", back)
    try:
        # The same bucket as /auth/login: one client IP's attempts that reach the tenant, whichever mode.
        await limiter.hit("login-ip", limit_key(ip), settings.ip_rate_limit)
    except RateLimited:
        audit("rate_limited", by="bff", scope="login-ip", mode="oauth")
        return failed("rate_limited", "rate limited", back)
    try:
        done = await flow.finish(pending, code)
    except TenantError as exc:
        log.info("oauth login refused", extra={"error": exc.code, "cause": str(exc)[:120]})
        return failed("login_failed", exc.code, back)

    tokens = done.tokens
    finished = FinishedLogin(
        mode="oauth",
        bearer=tokens.access_token,
        user=done.user.as_dict(),
        # Without a refresh token the session cannot outlive its access token.
        lifetime=tokens.expires_in if tokens.refresh_token is None else None,
        access_expires_at=None if tokens.expires_in is None else sessions.clock() + tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )
    user_agent = request.headers.get("user-agent", "")
    made = await promote(sessions, metrics, finished, user_agent=user_agent, ip=ip, previous=pending.previous)
    request.state.session = made.session.log_id
    response = _redirect(pending.return_to)
    response.raw_headers.append(clear_oauth_login_cookie(settings))
    response.raw_headers.append(session_cookie(settings, made.cookie, made.max_age))
    return response


#: bff_logins_total's outcome for each failure code; the rest are "failed".
_OUTCOMES: dict[LoginError, str] = {"access_denied": "denied", "rate_limited": "rate_limited"}
