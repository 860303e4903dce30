"""Pre-auth state: a login in progress, under its own cookie, key, salt and TTL (``BFF_LOGIN_TIMEOUT``).

Stored like a session (``l:<sha256(id)>``, AES-GCM under a key only the browser's login cookie carries), but
never slid: the state ends ``login_timeout`` seconds after :meth:`PreAuthStore.begin` whatever happens.
On success the caller ends it and creates a session, so the authenticated session gets a new id and key.

One step at a time: :meth:`PreAuthStore.one_step` holds a lease in the store (``ls:<sha256(id)>``, ``SET NX
PX``) for the whole of one ``/auth/advance`` or ``/auth/poll``, so a second step of the same login, on any
replica, is refused before it reads the state or reaches the tenant. The lease is released at the end of the
step; a replica that dies mid-step leaves it to expire (``step_lease`` seconds), and a step is cut off
before its lease could run out under it, so two steps never overlap.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from secrets import token_hex
from typing import Any

from app.errors import NoLoginInProgress, StepInProgress, StoreUnavailable, TenantTimeout
from app.sessions.sealed import seal, unseal
from app.sessions.ticket import Ticket, TicketCodec
from app.store.protocol import Store

log = logging.getLogger("bff.login")

#: Seconds a step's lease outlives the step's own deadline: the release, and clocks that differ a little.
LEASE_MARGIN = 2.0


class PreAuthStore:
    """Keeps the tenant's login state server-side, keyed by an opaque signed handle.

    Example::

        logins = PreAuthStore(store, settings.signing_secrets(), login_timeout=300)
        cookie = await logins.begin({"tenant_session": "...", "challenge": 0})
        state = await logins.load(cookie)  # None when missing, tampered, unknown or expired
    """

    def __init__(
        self,
        store: Store,
        secrets: Sequence[bytes],
        *,
        login_timeout: float,
        step_lease: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if login_timeout <= 0:
            raise ValueError("login_timeout must be positive")
        if step_lease <= LEASE_MARGIN:
            raise ValueError(f"step_lease must be longer than {LEASE_MARGIN} s")
        self.store = store
        self.login_timeout = login_timeout
        #: Seconds one step may hold its login (longer than its tenant calls may take).
        self.step_lease = step_lease
        self.clock = clock
        self._codec = TicketCodec(secrets, "login")

    async def begin(self, state: dict[str, Any]) -> str:
        """Store ``state`` under a new handle; returns the login cookie value."""
        ticket = Ticket.new(expires_at=self.clock() + self.login_timeout)
        key = "l:" + ticket.storage_hash
        await self.store.set(key, self._seal(ticket, key, state), self.login_timeout)
        return self._codec.dump(ticket)

    async def load(self, cookie: str | None) -> dict[str, Any] | None:
        """The state behind ``cookie``; ``None`` when missing, tampered, unknown or expired."""
        ticket = self._live_ticket(cookie)
        if ticket is None:
            return None
        key = "l:" + ticket.storage_hash
        blob = await self.store.get(key)
        if blob is None:
            return None
        plain = unseal([ticket.key], blob, self._aad(key))
        if plain is None:
            return None
        try:
            state = json.loads(plain)
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    async def save(self, cookie: str, state: dict[str, Any]) -> None:
        """Replace the state, keeping handle, key and the deadline set by ``begin``.

        Raises :class:`~app.errors.NoLoginInProgress` when the login is gone (ended, expired, bad cookie):
        a state that has ended is never written back.
        """
        ticket = self._live_ticket(cookie)
        if ticket is None:
            raise NoLoginInProgress("login state is gone")
        key = "l:" + ticket.storage_hash
        left = ticket.expires_at - self.clock()
        if not await self.store.set(key, self._seal(ticket, key, state), left, only_if_exists=True):
            raise NoLoginInProgress("login state is gone")

    @asynccontextmanager
    async def one_step(self, cookie: str | None) -> AsyncIterator[None]:
        """Run one step of the login behind ``cookie`` alone, on every replica.

        Raises :class:`~app.errors.StepInProgress` when another step of it holds the lease,
        :class:`~app.errors.NoLoginInProgress` for a missing or bad cookie, and
        :class:`~app.errors.TenantTimeout` when the step runs out of its lease (it is cut off then: past
        the lease another step could start, and both would reach the tenant).
        """
        ticket = self._live_ticket(cookie)
        if ticket is None:
            raise NoLoginInProgress("login state is gone")
        key = "ls:" + ticket.storage_hash
        owner = token_hex(16).encode()
        if not await self.store.set_if_absent(key, owner, self.step_lease):
            raise StepInProgress()
        try:
            async with asyncio.timeout(self.step_lease - LEASE_MARGIN) as deadline:
                yield
        except TimeoutError as exc:
            if deadline.expired():
                raise TenantTimeout("the login step outran its lease") from exc
            raise
        finally:
            try:
                await self.store.delete_if_equal(key, owner)
            except StoreUnavailable:
                # The step's own answer stands; the lease lapses by itself.
                log.warning("could not release a login step's lease")

    async def count_pin(self, cookie: str) -> int:
        """Count one PIN answer of this (federated) login and return the count, this one included.

        Kept like :meth:`count_oob`, apart from the sealed state, so a PIN whose tenant call failed or timed
        out (the state kept as it was) still counts: one PIN per login reaches the tenant.
        """
        return await self._count("rl:pin-login:", cookie)

    async def pin_spent(self, cookie: str) -> bool:
        """Whether a PIN was answered for this login (which may have ended since, by that answer)."""
        ticket = self._live_ticket(cookie)
        return ticket is not None and await self.store.get("rl:pin-login:" + ticket.storage_hash) is not None

    async def count_oob(self, cookie: str) -> int:
        """Count one StartOOB of this login and return the count, this one included.

        One atomic increment in the store (``rl:oob-login:<sha256(id)>``, living as long as the login), so
        concurrent starts of one login each get a number of their own: a cap kept in the sealed state
        (read, add one, write back) let every start that read the same state through. The count is not
        deleted when the login ends (it expires with it), so ending a login costs no extra command.
        Raises :class:`~app.errors.NoLoginInProgress` when the login is gone.
        """
        return await self._count("rl:oob-login:", cookie)

    async def _count(self, prefix: str, cookie: str) -> int:
        ticket = self._live_ticket(cookie)
        if ticket is None:
            raise NoLoginInProgress("login state is gone")
        left = ticket.expires_at - self.clock()
        return await self.store.incr(prefix + ticket.storage_hash, ttl=left)

    async def end(self, cookie: str | None) -> None:
        """Forget the state (a no-op for a missing or bad cookie)."""
        ticket = self._codec.load(cookie)
        if ticket is not None:
            await self.store.delete("l:" + ticket.storage_hash)

    def _live_ticket(self, cookie: str | None) -> Ticket | None:
        ticket = self._codec.load(cookie)
        if ticket is None or ticket.expires_at <= self.clock():
            return None
        return ticket

    def _aad(self, key: str) -> bytes:
        return (self.store.prefix + key).encode()

    def _seal(self, ticket: Ticket, key: str, state: dict[str, Any]) -> bytes:
        return seal(ticket.key, json.dumps(state, separators=(",", ":")).encode(), self._aad(key))
