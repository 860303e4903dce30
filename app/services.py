"""The app's long-lived parts, in one typed container built in one place: ``Services.open(settings, ...)``.

Example::

    services = Services.open(settings, metrics=metrics)    # in the lifespan; nothing connects yet
    await services.sessions.load(cookie)                    # routes reach it through app/routes/deps.py only
    await services.aclose()

The lifespan opens it and keeps it on ``app.state.services`` (the one attribute it sets there); routes take
what they need through the dependencies of :mod:`app.routes.deps`, so a route's signature says what it uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.identity.client import TenantClient
from app.identity.oauth import OAuthClient
from app.login.oauth import OAuthLoginFlow
from app.observe.metrics import Metrics
from app.security.ratelimit import RateLimiter
from app.sessions.pre_auth import PreAuthStore
from app.sessions.refresh import Refresher
from app.sessions.service import RECORD_KEYS, SessionService
from app.settings import Settings
from app.store.factory import open_store
from app.store.protocol import Store
from app.store.timing import TimedStore

if TYPE_CHECKING:
    from app.observe.trace_hook import TraceHook


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """Everything a request may use besides itself: settings, metrics, the store and what stands on it."""

    settings: Settings
    metrics: Metrics
    clock: Callable[[], float]
    store: Store
    tenant: TenantClient
    sessions: SessionService
    logins: PreAuthStore
    limiter: RateLimiter
    refresher: Refresher
    #: None unless ``BFF_LOGIN_MODES`` has ``oauth``.
    oauth_client: OAuthClient | None
    oauth_flow: OAuthLoginFlow | None
    #: Whether :meth:`aclose` closes ``tenant`` (not when a caller handed it in).
    owns_tenant: bool = True

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        tenant: TenantClient | None = None,
        trace: TraceHook | None = None,
        store: Store | None = None,
    ) -> Services:
        """Build every service for ``settings`` (timed store, tenant client, sessions, logins, limits, OAuth).

        ``tenant`` and ``store``: ones of the caller's (tests) instead of those the settings describe.
        """
        timed = TimedStore(
            store if store is not None else open_store(settings, clock=clock, cached=RECORD_KEYS),
            metrics.store_latency,
        )
        client = tenant
        if client is None:
            client = TenantClient.from_settings(settings, observe=metrics.observe_tenant_call, trace=trace)
        sessions = SessionService.from_settings(timed, settings, clock=clock)
        oauth = OAuthClient.from_settings(settings, client, clock=clock) if settings.oauth_enabled else None
        flow = None
        if oauth is not None:
            flow = OAuthLoginFlow(
                oauth,
                sessions.keyring.oauth_login_keys,
                timed,
                redirect_uri=settings.oauth_redirect_uri,
                scope=settings.cyberark_oauth_scope,
                login_timeout=settings.bff_login_timeout,
                clock=clock,
            )
        return cls(
            settings=settings,
            metrics=metrics,
            clock=clock,
            store=timed,
            tenant=client,
            sessions=sessions,
            logins=PreAuthStore(
                timed,
                settings.signing_secrets(),
                login_timeout=settings.bff_login_timeout,
                # A step makes two tenant calls at most (an answer, then Whoami), each in CYBERARK_TIMEOUT.
                step_lease=2 * settings.cyberark_timeout + 5,
                clock=clock,
            ),
            limiter=RateLimiter(timed, sessions.keyring, clock=clock),
            refresher=Refresher(
                sessions,
                oauth,
                # The lock outlives the refresh call it guards: that call gives up at CYBERARK_TIMEOUT.
                lease=settings.cyberark_timeout + 5,
                clock=clock,
                count=lambda outcome: metrics.refreshes.labels(outcome=outcome).inc(),
            ),
            oauth_client=oauth,
            oauth_flow=flow,
            owns_tenant=tenant is None,
        )

    async def aclose(self) -> None:
        """Close what :meth:`open` opened: the tenant client (unless handed in), then the store."""
        if self.owns_tenant:
            await self.tenant.aclose()
        await self.store.aclose()
