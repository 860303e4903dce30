"""Refreshing an OAuth session's access token before it expires, once per session across replicas.

Example::

    refresher = Refresher(sessions, oauth_client, lease=15)
    if refresher.due(session):                         # on the proxy path: an attribute test, nothing more
        session = await refresher.fresh(cookie, session)   # SessionExpired when the session is over

One refresh per session, whichever replica and however many calls: on a replica, the calls of one session
share one attempt (the first starts it, the others await it); across replicas, that attempt takes a short
lock in the store (``SET NX PX``, released only by its owner), reads the record again under it (another
replica may have refreshed a moment ago), and only then asks the tenant. An attempt that does not get the
lock waits for it, looking at the lock and the record with a growing pause (``WAIT_FIRST`` doubling up to
``WAIT_MOST``), so a slow refresh elsewhere costs a replica a few store reads, not a stream of them per call.
``invalid_grant`` ends the session; without a refresh token the session ends when the access token does. A
tenant that is down while the old token is still good does not end anything: the call goes on with the old
token and the next one tries again. Tokens a refresh obtained for a session that was ended meanwhile (a
logout racing it) are revoked at once.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from app.errors import SessionExpired, TenantError, TenantTimeout, TokenRejected
from app.identity.oauth import OAuthClient, TokenSet
from app.observe.logs import audit
from app.sessions.records import Session
from app.sessions.service import SessionService

#: Seconds the refresh call leaves of the lock's lease for writing the new tokens.
LEASE_MARGIN = 2.0

log = logging.getLogger("bff.sessions.refresh")

#: A call whose access token expires within this many seconds refreshes it first (api.md §2).
REFRESH_AHEAD = 60.0
#: Seconds before the first look at a lock another replica holds; each pause doubles, up to WAIT_MOST.
WAIT_FIRST = 0.05
WAIT_MOST = 1.0


class Refresher:
    """Keeps OAuth sessions' access tokens fresh; ``oauth`` None (OAuth turned off) only lets them expire."""

    def __init__(
        self,
        sessions: SessionService,
        oauth: OAuthClient | None,
        *,
        lease: float,
        clock: Callable[[], float] | None = None,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.oauth = oauth
        #: How long the lock holds without its owner: longer than one token call may take (its timeout).
        self.lease = lease
        self.clock = clock or sessions.clock
        self._count = count or (lambda outcome: None)
        #: The attempt in flight on this replica, per session (its storage key), which later calls await.
        self._attempts: dict[str, asyncio.Future[Session]] = {}

    def due(self, session: Session) -> bool:
        """Whether ``session`` must refresh (or end) before its bearer is used."""
        expires = session.access_expires_at
        return expires is not None and expires - self.clock() < REFRESH_AHEAD

    async def fresh(self, cookie: str, session: Session) -> Session:
        """``session`` with an access token good for the call; SessionExpired when the session is over."""
        key = session.storage_key
        attempt = self._attempts.get(key)
        if attempt is None:
            attempt = asyncio.ensure_future(self._attempt(cookie, session))
            self._attempts[key] = attempt
            attempt.add_done_callback(lambda done: self._finished(key, done))
        # Shielded: a browser that leaves cancels its own wait, not the attempt the others are waiting for.
        return await asyncio.shield(attempt)

    def _finished(self, key: str, attempt: asyncio.Future[Session]) -> None:
        if self._attempts.get(key) is attempt:
            del self._attempts[key]
        if not attempt.cancelled():
            attempt.exception()  # read here, so an attempt every waiter left is not reported as unhandled

    async def _attempt(self, cookie: str, session: Session) -> Session:
        store = self.sessions.store
        lock = self.sessions.refresh_lock_key(session)
        give_up = time.monotonic() + self.lease + 1.0
        while True:
            if not self.due(session):
                return session
            if session.refresh_token is None or self.oauth is None:
                return await self._until_expiry(session)
            owner = secrets.token_hex(16).encode()
            if await store.set_if_absent(lock, owner, self.lease):
                try:
                    return await self._refresh(cookie, session)
                finally:
                    await store.delete_if_equal(lock, owner)
            # Another replica is refreshing: wait for it, then read its result.
            pause = WAIT_FIRST
            while True:
                await asyncio.sleep(pause)
                pause = min(pause * 2, WAIT_MOST)
                current = await self.sessions.load(cookie, slide=False)
                if current is None:
                    raise SessionExpired()
                session = current
                if not self.due(session):
                    return session
                if await store.get(lock) is None:
                    break  # the holder finished without a fresh token (tenant down): see below
                if time.monotonic() > give_up:
                    return self._old_token_or(session, TenantTimeout("the token refresh did not finish"))
            if self._usable(session):
                # The holder could not refresh but the token still works: use it; a later call tries again.
                return session

    async def _refresh(self, cookie: str, session: Session) -> Session:
        """Under the lock: read the record again and refresh unless someone just did."""
        current = await self.sessions.load(cookie, slide=False)
        if current is None:
            raise SessionExpired()
        if not self.due(current):
            return current
        if current.refresh_token is None or self.oauth is None:
            return await self._until_expiry(current)
        try:
            # httpx's timeout bounds each phase of the call, not the whole: bound it within the lease, so the
            # lock never lapses while its owner still works (a second refresh with the same token would
            # end the session at a tenant that rotates refresh tokens and detects reuse).
            try:
                async with asyncio.timeout(max(self.lease - LEASE_MARGIN, 1.0)):
                    tokens = await self.oauth.refresh(current.refresh_token)
            except TimeoutError as exc:
                raise TenantTimeout("token refresh took longer than its lease") from exc
        except TokenRejected:
            self._count("refused")
            await self.sessions.delete(current)
            audit("session_expired", session=current.log_id, reason="refresh refused", mode="oauth")
            raise SessionExpired() from None
        except TenantError as exc:
            self._count("failed")
            log.warning("token refresh failed", extra={"error": exc.code, "session": current.log_id})
            return self._old_token_or(current, exc)
        now = self.clock()
        updated = await self.sessions.store_tokens(
            cookie,
            bearer=tokens.access_token,
            access_expires_at=None if tokens.expires_in is None else now + tokens.expires_in,
            refresh_token=tokens.refresh_token,
        )
        if updated is None:
            # Ended meanwhile (a logout or revocation racing this refresh): nothing will ever use or revoke
            # the tokens just minted but this.
            await self._revoke(current, tokens)
            raise SessionExpired()
        self._count("succeeded")
        audit("token_refreshed", session=current.log_id, mode="oauth")
        return updated

    async def _revoke(self, session: Session, tokens: TokenSet) -> None:
        """Best effort, each token on its own: one that fails lapses at its own expiry."""
        assert self.oauth is not None  # noqa: S101 - only a refresh made these tokens
        for hint, exc in await self.oauth.revoke_each(tokens.refresh_token, tokens.access_token):
            log.info("revoking a refresh's tokens failed", extra={"error": exc.code, "hint": hint})
        audit("refreshed_tokens_revoked", session=session.log_id, reason="session ended during the refresh")

    def _usable(self, session: Session) -> bool:
        expires = session.access_expires_at
        return expires is None or expires > self.clock()

    def _old_token_or(self, session: Session, error: TenantError) -> Session:
        if self._usable(session):
            return session
        raise error

    async def _until_expiry(self, session: Session) -> Session:
        """No refresh possible: the session lives until its access token expires, then ends."""
        if self._usable(session):
            return session
        await self.sessions.delete(session)
        audit("session_expired", session=session.log_id, reason="access token expired", mode="oauth")
        raise SessionExpired()
