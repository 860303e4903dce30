"""Dependencies that make route signatures read as prose: ``session: CurrentSession``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from app.errors import Unauthenticated
from app.identity.client import TenantClient
from app.metrics import Metrics
from app.security.client_ip import client_ip
from app.security.ratelimit import RateLimiter
from app.sessions.service import LoginStateService, Session, SessionService
from app.settings import Settings


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _sessions(request: Request) -> SessionService:
    sessions: SessionService = request.app.state.sessions
    return sessions


def _logins(request: Request) -> LoginStateService:
    logins: LoginStateService = request.app.state.logins
    return logins


def _tenant(request: Request) -> TenantClient:
    tenant: TenantClient = request.app.state.tenant
    return tenant


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _current_session(
    request: Request,
    sessions: Sessions,
    settings: AppSettings,
    # Declared here, not parsed by hand, so "0", "off" and "no" mean false as the OpenAPI document says,
    # and a value that is not a boolean is a 400 before the session is touched.
    slide: Annotated[bool, Query(description="extend the idle timer (default true)")] = True,
) -> Session:
    session = await sessions.load(request.cookies.get(settings.cookie_name), slide=slide)
    if session is None:
        raise Unauthenticated()
    request.state.session = session.log_id
    return session


def peer_ip(request: Request) -> str:
    """The client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    return client_ip(peer, request.headers.get("x-forwarded-for"), settings.bff_trusted_proxies)


AppSettings = Annotated[Settings, Depends(_settings)]
Sessions = Annotated[SessionService, Depends(_sessions)]
Logins = Annotated[LoginStateService, Depends(_logins)]
Tenant = Annotated[TenantClient, Depends(_tenant)]
CurrentSession = Annotated[Session, Depends(_current_session)]
ClientIP = Annotated[str, Depends(peer_ip)]
Limiter = Annotated[RateLimiter, Depends(_limiter)]
AppMetrics = Annotated[Metrics, Depends(_metrics)]
