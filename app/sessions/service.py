"""Sessions: create, load (one store round trip), refresh tokens of, and end a session's record.

Layout in the store (relative to the prefix):

- ``s:<sha256(id)>``      the record, AES-GCM under the session's own key (only its cookie has it), TTL =
                          min(idle timeout, time left before the absolute expiry).
- ``u:...``, ``n:...``    the user's index and the names that lead to it (:mod:`app.sessions.user_index`).

Record and index are separate keys written one after the other (no MULTI, no hash tag: Cluster-ready). Every
login (:meth:`SessionService.create`) prunes the index's dead lines and ends the user's oldest sessions
beyond ``max_per_user`` (two logins at the same instant may each leave one more, until the next login). A
read is a GET (and PTTL, pipelined), never a write: the idle timer is pushed forward (PEXPIRE) only once its
slack is used up (:func:`idle_slack`), and ``last_seen_at`` only when the stored one is over
``LAST_SEEN_INTERVAL`` old (record + index entry), so the listing is accurate to that interval.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence

from app.errors import StoreUnavailable
from app.sessions.keyring import Keyring
from app.sessions.records import Record, Session, SessionInfo
from app.sessions.sealed import seal, unseal
from app.sessions.ticket import Ticket, TicketCodec
from app.sessions.user_index import UserIndex
from app.settings import Settings
from app.store.protocol import Store

__all__ = ["Session", "SessionInfo", "SessionService"]

log = logging.getLogger("bff.sessions")

#: Where session records live in the store (below its own prefix); the store's tracked cache copies these.
RECORD_KEYS = "s:"
#: Seconds between lazy ``last_seen_at`` writes.
LAST_SEEN_INTERVAL = 60.0
#: Live sessions one user may have (``BFF_MAX_SESSIONS_PER_USER``, the same default); a login past it
#: ends the oldest.
DEFAULT_MAX_PER_USER = 32

#: Seconds a record's TTL may reach past its absolute expiry before a read cuts it back (clock skew).
_TTL_TOLERANCE = 1.0
#: An index key as :meth:`SessionService.reference` writes it (``u:`` and a keyed hash).
_INDEX_KEY = re.compile(r"u:[0-9a-f]{32}")


def idle_slack(idle_timeout: float) -> float:
    """How much of the idle timer a session may lose to coalesced slides (spec §2): 30 s, or 2 % of a long
    timeout, never more than a quarter of it, so requests closer together than ¾ of it always keep a session.

    >>> idle_slack(600), idle_slack(1800), idle_slack(60)
    (30.0, 36.0, 15.0)
    """
    return min(max(30.0, 0.02 * idle_timeout), idle_timeout / 4)


class SessionService:
    """The session API the routes call.

    Example::

        sessions = SessionService(store, settings.signing_secrets(), idle_timeout=1800, max_lifetime=43200)
        cookie, session = await sessions.create(bearer=token, user=user, user_agent=ua, ip=ip)
        session = await sessions.load(cookie)  # None when missing, tampered, unknown or expired
    """

    def __init__(
        self,
        store: Store,
        secrets: Sequence[bytes],
        *,
        idle_timeout: float,
        max_lifetime: float,
        max_per_user: int = DEFAULT_MAX_PER_USER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if idle_timeout <= 0 or max_lifetime <= 0:
            raise ValueError("idle_timeout and max_lifetime must be positive")
        if max_per_user < 1:
            raise ValueError("max_per_user must be at least 1")
        self.store = store
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.max_per_user = max_per_user
        self.clock = clock
        self.slack = idle_slack(idle_timeout)
        self.keyring = Keyring(secrets)
        #: The user's index of sessions and the names that lead to it.
        self.index = UserIndex(store, self.keyring, max_lifetime=max_lifetime, clock=clock)
        #: Records this replica is recording ``last_seen_at`` of now: the session's other calls meanwhile
        #: leave it to that one (theirs would fail the compare-and-set anyway, a round trip each).
        self._touching: set[str] = set()
        self._codec = TicketCodec(secrets, "session")

    @classmethod
    def from_settings(
        cls, store: Store, settings: Settings, clock: Callable[[], float] = time.time
    ) -> SessionService:
        return cls(
            store,
            settings.signing_secrets(),
            idle_timeout=settings.bff_session_idle_timeout,
            max_lifetime=settings.bff_session_max_lifetime,
            max_per_user=settings.bff_max_sessions_per_user,
            clock=clock,
        )

    def index_key(self, user_id: str) -> str:
        """The store key of ``user_id``'s session index, the one written now."""
        return self.index.key(user_id)

    # Public API ------------------------------------------------------------------------------------

    async def create(
        self,
        *,
        bearer: str,
        user: dict[str, str],
        user_agent: str,
        ip: str,
        login: str = "api",
        access_expires_at: float | None = None,
        refresh_token: str | None = None,
        lifetime: float | None = None,
        tenant_url: str | None = None,
        login_name: str | None = None,
    ) -> tuple[str, Session]:
        """A new session (new id, new key); returns the cookie value and the session.

        ``lifetime``: seconds the bearer is good for, when the tenant said; it caps the absolute lifetime.
        ``login``, ``access_expires_at`` and ``refresh_token`` describe an OAuth session.
        ``tenant_url``: the tenant host that issued the bearer (a pod), kept sealed in the record.
        ``login_name``: the name the user typed, by which an operator may find the session besides the
        tenant's user name and id.
        """
        if not user.get("id"):
            raise ValueError("user needs an id")
        now = self.clock()
        limit = self.max_lifetime if lifetime is None else max(1.0, min(lifetime, self.max_lifetime))
        ticket = Ticket.new(expires_at=now + limit)
        record = Record(
            public_id=self.keyring.public_id(ticket.id),
            bearer=bearer,
            user=dict(user),
            created_at=now,
            last_seen_at=now,
            expires_at=ticket.expires_at,
            user_agent=user_agent,
            ip=ip,
            login=login,
            access_expires_at=access_expires_at,
            refresh_token=refresh_token,
            tenant_url=tenant_url,
        )
        key = RECORD_KEYS + ticket.storage_hash
        ttl = min(self.idle_timeout, ticket.expires_at - now)
        # The index grows only here: drop its dead lines, and make room for this session under the cap.
        await self.index.end_oldest(await self.index.read(user["id"]), keep=self.max_per_user - 1)
        await self.store.set(key, self._seal_record(ticket, key, record), ttl)
        # The newest session lives longest, so this keeps the index alive for all of the user's sessions.
        await self.index.add(record, key, min_ttl=self.max_lifetime)
        await self.index.add_names((user.get("username"), login_name), user["id"])
        session = self._session(ticket, key, record, idle_expires_at=now + ttl)
        log.info("session created", extra={"session": session.log_id})
        return self._codec.dump(ticket), session

    async def load(self, cookie: str | None, *, slide: bool = True, cached: bool = False) -> Session | None:
        """The live session for ``cookie``, in at most one store round trip; ``None`` for anything else.

        The record is read with a plain GET (and its TTL). ``slide`` pushes the idle timer forward only when
        less than ``idle - slack`` of it remains (:func:`idle_slack`), so a busy session costs one TTL write
        per slack, not one per call. ``cached`` lets the store answer from its tracked local copy.
        """
        ticket = self._codec.load(cookie)
        if ticket is None:
            return None
        now = self.clock()
        left = ticket.expires_at - now
        if left <= 0:
            return None
        key = RECORD_KEYS + ticket.storage_hash
        blob, ttl_left = await self.store.get_with_ttl(key, cached=cached)
        if blob is None:
            return None
        plain = unseal([ticket.key], blob, self._aad(key))
        record = None if plain is None else Record.decode(plain)
        # The ticket's expiry is signed; a record that disagrees is not this ticket's.
        if record is None or abs(record.expires_at - ticket.expires_at) > 0.001:
            return None
        remaining = left if ttl_left is None else min(ttl_left, left)
        if slide:
            target = min(self.idle_timeout, left)
            if (
                now - record.last_seen_at >= LAST_SEEN_INTERVAL
                and key not in self._touching
                and await self._touch(ticket, key, blob, record, now, ttl=target)
            ):
                # Rewriting the record sets its TTL too: no separate slide.
                remaining = target
            elif ttl_left is None or ttl_left < target - self.slack or ttl_left > target + _TTL_TOLERANCE:
                # Coalesced: the slack is used up (or the TTL reaches past the absolute expiry, which only a
                # replica's clock running ahead can cause). A record gone meanwhile is no session.
                if not await self.store.expire(key, target):
                    return None
                remaining = target
        return self._session(ticket, key, record, idle_expires_at=now + remaining)

    async def delete(self, session: Session) -> None:
        """End ``session``: its record and its index entry."""
        await self.store.delete(session.storage_key)
        await self.index.remove(session.user["id"], session.public_id)
        log.info("session ended", extra={"session": session.log_id})

    async def take(self, cookie: str | None, session: Session) -> Session:
        """End ``session`` (as :meth:`delete`) and return it as its record stood when it ended.

        A token refresh may have stored new tokens since ``session`` was read: what is returned carries
        them, so a logout can revoke the tokens the session really held. The record is deleted only while it
        still holds what was read (compare-and-delete); a refresh that comes later finds no record and
        revokes what it got itself.
        """
        ticket = self._codec.load(cookie)
        ended = session
        if ticket is not None and "s:" + ticket.storage_hash == session.storage_key:
            key = session.storage_key
            for _ in range(3):  # a record rewritten between the read and the delete is read again
                blob = await self.store.get(key)
                if blob is None:
                    break
                plain = unseal([ticket.key], blob, self._aad(key))
                record = None if plain is None else Record.decode(plain)
                if await self.store.delete_if_equal(key, blob):
                    if record is not None:
                        ended = self._session(ticket, key, record, idle_expires_at=session.idle_expires_at)
                    break
        await self.delete(session)
        return ended

    async def list_for(self, session: Session) -> list[SessionInfo]:
        """The live sessions of ``session``'s user, oldest first, the caller's own flagged ``current``."""
        return await self.index.listing(
            session.user["id"], current=session.public_id, current_seen=session.last_seen_at
        )

    async def revoke(self, session: Session, public_id: str) -> bool:
        """End one of the caller's own user's sessions by public id; ``False`` when it is not one of them."""
        return await self.index.end_listed(session.user["id"], public_id)

    def reference(self, session: Session) -> str:
        """A reference that lets :meth:`end_referenced` end ``session`` later, without its cookie.

        Keyed names only (the public id and the user's index names, as the store already holds them): it
        leads to the session's index line, which leads to the record; it opens nothing and proves nothing.
        """
        return "/".join((session.public_id, *self.index.keys(session.user["id"])))

    async def end_referenced(self, reference: str) -> bool:
        """End the session :meth:`reference` named; ``False`` when it has ended already (or is not one)."""
        public_id, *indexes = reference.split("/")
        if not indexes or not all(_INDEX_KEY.fullmatch(index) for index in indexes):
            return False
        return await self.index.end_listed_in(indexes, public_id)

    @staticmethod
    def refresh_lock_key(session: Session) -> str:
        """The store key of the lock that lets one replica at a time refresh ``session``'s tokens."""
        return "r:" + session.storage_key.removeprefix(RECORD_KEYS)

    async def store_tokens(
        self, cookie: str, *, bearer: str, access_expires_at: float | None, refresh_token: str | None
    ) -> Session | None:
        """Put refreshed tokens in the session's record (its TTL kept); ``None`` when the session is gone.

        The record is read again and only the token fields change, so nothing else written meanwhile is lost;
        a session ended meanwhile is not brought back (XX).
        """
        ticket = self._codec.load(cookie)
        if ticket is None:
            return None
        key = RECORD_KEYS + ticket.storage_hash
        blob, ttl_left = await self.store.get_with_ttl(key)
        plain = None if blob is None else unseal([ticket.key], blob, self._aad(key))
        record = None if plain is None else Record.decode(plain)
        now = self.clock()
        if record is None or ticket.expires_at <= now:
            return None
        record.bearer = bearer
        record.access_expires_at = access_expires_at
        record.refresh_token = refresh_token
        ttl = min(self.idle_timeout, ticket.expires_at - now) if ttl_left is None else ttl_left
        if not await self.store.set(key, self._seal_record(ticket, key, record), ttl, only_if_exists=True):
            return None
        return self._session(ticket, key, record, idle_expires_at=now + ttl)

    # Internals -------------------------------------------------------------------------------------

    def _aad(self, key: str) -> bytes:
        return (self.store.prefix + key).encode()

    def _seal_record(self, ticket: Ticket, key: str, record: Record) -> bytes:
        return seal(ticket.key, record.encode(), self._aad(key))

    async def _touch(
        self, ticket: Ticket, key: str, read: bytes, record: Record, now: float, *, ttl: float
    ) -> bool:
        """Record ``last_seen_at``, over the very record that was ``read`` (compare-and-set).

        A touch never writes token fields: it rewrites the whole sealed record, so a plain write would put
        back the tokens it read, over a refresh another replica stored meanwhile (the refresh token it
        carried is spent, and the next refresh would end the session). ``False`` when the record changed or
        ended since the read, and nothing was written; a store failure is logged, not raised (the read
        already succeeded, the request need not fail).
        """
        record.last_seen_at = now
        self._touching.add(key)
        try:
            if not await self.store.replace_if_equal(key, read, self._seal_record(ticket, key, record), ttl):
                return False
            await self.index.add(record, key, min_ttl=ticket.expires_at - now)
        except StoreUnavailable:
            log.warning("could not record last_seen_at", extra={"session": self.keyring.log_id(ticket.id)})
        finally:
            self._touching.discard(key)
        return True

    def _session(self, ticket: Ticket, key: str, record: Record, *, idle_expires_at: float) -> Session:
        return Session(
            public_id=record.public_id,
            log_id=self.keyring.log_id(ticket.id),
            bearer=record.bearer,
            user=record.user,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            idle_expires_at=idle_expires_at,
            user_agent=record.user_agent,
            ip=record.ip,
            storage_key=key,
            login=record.login,
            access_expires_at=record.access_expires_at,
            refresh_token=record.refresh_token,
            tenant_url=record.tenant_url,
        )
