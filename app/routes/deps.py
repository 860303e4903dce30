"""Dependencies that make route signatures read as prose: ``session: CurrentSession``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request

from app.errors import Unauthenticated
from app.identity.client import TenantClient
from app.observe.metrics import Metrics
from app.security.client_ip import client_ip
from app.security.ratelimit import RateLimiter
from app.sessions.pre_auth import PreAuthStore
from app.sessions.service import Session, SessionService
from app.settings import Settings

T = TypeVar("T")


def _app_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency that hands out ``app.state.<name>`` (set by the lifespan), typed as ``kind``."""

    def dependency(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    dependency.__name__ = f"app_state_{name}"
    return dependency


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


def peer_ip(request: Request, settings: AppSettings) -> str:
    """The client's address: the peer, or X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.client.host if request.client else None
    # Every X-Forwarded-For line, in the order received: a proxy that adds a line of its own rather than
    # extending the client's puts the address it saw in the last one, and only the right end is believed.
    forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
    return client_ip(peer, forwarded, settings.bff_trusted_proxies)


AppSettings = Annotated[Settings, Depends(_app_state("settings", Settings))]
Sessions = Annotated[SessionService, Depends(_app_state("sessions", SessionService))]
Logins = Annotated[PreAuthStore, Depends(_app_state("logins", PreAuthStore))]
Tenant = Annotated[TenantClient, Depends(_app_state("tenant", TenantClient))]
CurrentSession = Annotated[Session, Depends(_current_session)]
ClientIP = Annotated[str, Depends(peer_ip)]
Limiter = Annotated[RateLimiter, Depends(_app_state("limiter", RateLimiter))]
AppMetrics = Annotated[Metrics, Depends(_app_state("metrics", Metrics))]
