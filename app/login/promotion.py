"""A finished login becomes a session: the one promotion both login modes use (api.md §2).

Example::

    previous = await held_session(sessions, request.cookies.get(settings.cookie_name))
    ...                                                    # the login's steps, or the OAuth round trip
    made = await promote(sessions, metrics, finished, user_agent=ua, ip=ip, previous=previous)
    response.raw_headers.append(session_cookie(settings, made.cookie, made.max_age))

The session the browser held when its login began is ended as the new one is made (new id, new key), so a
browser never keeps two sessions, whichever way it signed in. The API login knows it at the last step (the
Strict session cookie comes with its fetch calls); the OAuth login learns it at ``/auth/oauth/login`` (a
same-site navigation), because the callback is a redirect from the tenant's site and brings no Strict cookie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from app.observe.logs import audit
from app.observe.metrics import Metrics
from app.sessions.records import Session
from app.sessions.service import SessionService


@dataclass(frozen=True, slots=True)
class FinishedLogin:
    """What a login mode hands over when the user has proved who they are."""

    mode: Literal["api", "oauth"]
    bearer: str = field(repr=False)
    user: dict[str, str] = field(repr=False)
    #: Seconds the bearer is good for, when the tenant said; it caps the session (and its cookie).
    lifetime: float | None
    access_expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    #: The pod that issued the bearer, when it is not CYBERARK_TENANT_URL's own host.
    tenant_url: str | None = None
    #: The name the user typed (API login), by which an operator may find the session too.
    login_name: str | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    """The session a login made, and its cookie: the ticket and its Max-Age (the absolute lifetime)."""

    cookie: str = field(repr=False)
    max_age: int
    session: Session


async def held_session(sessions: SessionService, cookie: str | None) -> str | None:
    """A reference to the live session ``cookie`` names, for :func:`promote` to end; ``None`` without one."""
    session = await sessions.load(cookie, slide=False)
    return None if session is None else sessions.reference(session)


async def promote(
    sessions: SessionService,
    metrics: Metrics,
    login: FinishedLogin,
    *,
    user_agent: str,
    ip: str,
    previous: str | None,
) -> NewSession:
    """End the ``previous`` session (from :func:`held_session`), if still alive, and make the new one."""
    if previous is not None and await sessions.end_referenced(previous):
        metrics.sessions.labels(event="replaced").inc()
    cookie, session = await sessions.create(
        bearer=login.bearer,
        user=login.user,
        user_agent=user_agent[:256],
        ip=ip,
        login=login.mode,
        access_expires_at=login.access_expires_at,
        refresh_token=login.refresh_token,
        lifetime=login.lifetime,
        tenant_url=login.tenant_url,
        login_name=login.login_name,
    )
    metrics.logins.labels(mode=login.mode, outcome="succeeded").inc()
    metrics.sessions.labels(event="created").inc()
    audit("login_succeeded", mode=login.mode, session=session.log_id)
    # Whole seconds, never past the session's own end: the configured lifetime, shorter when the tenant's
    # token lives less (the record's limit is the same figure).
    limit = sessions.max_lifetime if login.lifetime is None else min(login.lifetime, sessions.max_lifetime)
    return NewSession(cookie, max(1, math.floor(limit)), session)
