"""Dependencies that make route signatures read as prose: ``session: CurrentSession``.

The one way routes reach the app's services (:class:`app.services.Services`, opened by the lifespan).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar, cast

from fastapi import Depends, Query, Request

from app.errors import Unauthenticated
from app.identity.client import TenantClient
from app.identity.oauth import OAuthClient
from app.login.oauth import OAuthLoginFlow
from app.observe.metrics import Metrics
from app.security.client_ip import client_ip
from app.security.ratelimit import RateLimiter
from app.services import Services
from app.sessions.pre_auth import PreAuthStore
from app.sessions.service import Session, SessionService
from app.settings import Settings
from app.store.protocol import Store

T = TypeVar("T")


def services_of(request: Request) -> Services:
    """The app's services (set by the lifespan); also for code that runs before dependencies are solved."""
    return cast(Services, request.app.state.services)


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


def _part(read: Callable[[Services], T]) -> Callable[[Request], T]:
    """A dependency that hands out one part of the app's services."""

    def dependency(request: Request) -> T:
        return read(services_of(request))

    return dependency


AppServices = Annotated[Services, Depends(services_of)]
AppSettings = Annotated[Settings, Depends(_part(lambda s: s.settings))]
Sessions = Annotated[SessionService, Depends(_part(lambda s: s.sessions))]
Logins = Annotated[PreAuthStore, Depends(_part(lambda s: s.logins))]
Tenant = Annotated[TenantClient, Depends(_part(lambda s: s.tenant))]
CurrentSession = Annotated[Session, Depends(_current_session)]
ClientIP = Annotated[str, Depends(peer_ip)]
Limiter = Annotated[RateLimiter, Depends(_part(lambda s: s.limiter))]
AppMetrics = Annotated[Metrics, Depends(_part(lambda s: s.metrics))]
AppStore = Annotated[Store, Depends(_part(lambda s: s.store))]
Clock = Annotated[Callable[[], float], Depends(_part(lambda s: s.clock))]
OAuthClientOrNone = Annotated[OAuthClient | None, Depends(_part(lambda s: s.oauth_client))]
OAuthFlowOrNone = Annotated[OAuthLoginFlow | None, Depends(_part(lambda s: s.oauth_flow))]
