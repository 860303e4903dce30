"""Sessions: create, load (one store round trip), end, list and revoke a user's sessions.

Layout in the store (relative to the prefix):

- ``s:<sha256(id)>``      the record, AES-GCM under the session's own key (only its cookie has it), TTL =
                          min(idle timeout, time left before the absolute expiry).
- ``u:<sha256(user id)>`` the user's index: a hash of public id -> listing entry, AES-GCM under a server key
                          (HKDF of the session secrets), living at least as long as the user's newest session.

Record and index are separate keys written one after the other (no MULTI, no hash tag: Cluster-ready). The
index may briefly list a session whose record is gone (expired or ended by another writer); listing prunes
such entries, so the only cost is a stale line nobody sees. A read is a GET (and PTTL, pipelined), never a
write: the idle timer is pushed forward (PEXPIRE) only once its slack is used up (:func:`idle_slack`), and
``last_seen_at`` only when the stored one is over ``LAST_SEEN_INTERVAL`` old (record + index entry), so the
listing is accurate to that interval.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Sequence

from app.errors import StoreUnavailable
from app.sessions.keyring import Keyring
from app.sessions.login_state import LoginStateService
from app.sessions.records import IndexEntry, Record, Session, SessionInfo
from app.sessions.sealed import seal, unseal
from app.sessions.store import Store
from app.sessions.ticket import Ticket, TicketCodec
from app.settings import Settings

__all__ = ["LoginStateService", "Session", "SessionInfo", "SessionService", "user_index_key"]

log = logging.getLogger("bff.sessions")

#: Seconds between lazy ``last_seen_at`` writes.
LAST_SEEN_INTERVAL = 60.0

#: Seconds a record's TTL may reach past its absolute expiry before a read cuts it back (clock skew).
_TTL_TOLERANCE = 1.0


def idle_slack(idle_timeout: float) -> float:
    """How much of the idle timer a session may lose to coalesced slides (spec §2): 30 s, or 2 % of a long
    timeout, never more than a quarter of it, so requests closer together than ¾ of it always keep a session.

    >>> idle_slack(600), idle_slack(1800), idle_slack(60)
    (30.0, 36.0, 15.0)
    """
    return min(max(30.0, 0.02 * idle_timeout), idle_timeout / 4)


_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


def user_index_key(user_id: str) -> str:
    """The relative key of a user's session index: a hash, so the store never shows the user id."""
    return "u:" + hashlib.sha256(b"bff-user\x00" + user_id.encode()).hexdigest()


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        if idle_timeout <= 0 or max_lifetime <= 0:
            raise ValueError("idle_timeout and max_lifetime must be positive")
        self.store = store
        self.idle_timeout = idle_timeout
        self.max_lifetime = max_lifetime
        self.clock = clock
        self.slack = idle_slack(idle_timeout)
        self.keyring = Keyring(secrets)
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
            clock=clock,
        )

    # Public API ------------------------------------------------------------------------------------

    async def create(
        self, *, bearer: str, user: dict[str, str], user_agent: str, ip: str
    ) -> tuple[str, Session]:
        """A new session (new id, new key); returns the cookie value and the session."""
        if not user.get("id"):
            raise ValueError("user needs an id")
        now = self.clock()
        ticket = Ticket.new(expires_at=now + self.max_lifetime)
        record = Record(
            public_id=self.keyring.public_id(ticket.id),
            bearer=bearer,
            user=dict(user),
            created_at=now,
            last_seen_at=now,
            expires_at=ticket.expires_at,
            user_agent=user_agent,
            ip=ip,
        )
        key = "s:" + ticket.storage_hash
        ttl = min(self.idle_timeout, ticket.expires_at - now)
        await self.store.set(key, self._seal_record(ticket, key, record), ttl)
        # The newest session lives longest, so this keeps the index alive for all of the user's sessions.
        await self._write_index(record, key, min_ttl=self.max_lifetime)
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
        key = "s:" + ticket.storage_hash
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
            if now - record.last_seen_at >= LAST_SEEN_INTERVAL:
                # Rewriting the record sets its TTL too: no separate slide.
                await self._touch(ticket, key, record, now, ttl=target)
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
        await self.store.hdel(user_index_key(session.user["id"]), session.public_id)
        log.info("session ended", extra={"session": session.log_id})

    async def list_for(self, session: Session) -> list[SessionInfo]:
        """The live sessions of ``session``'s user, oldest first, the caller's own flagged ``current``."""
        index = user_index_key(session.user["id"])
        now = self.clock()
        candidates: list[tuple[str, IndexEntry]] = []
        gone: list[str] = []
        for public_id, blob in (await self.store.hgetall(index)).items():
            entry = self._open_index(index, public_id, blob)
            if entry is None or entry.expires_at <= now:
                gone.append(public_id)
            else:
                candidates.append((public_id, entry))
        alive = await self.store.exists_many([entry.ref for _, entry in candidates])
        infos: list[SessionInfo] = []
        for (public_id, entry), exists in zip(candidates, alive, strict=True):
            if not exists:
                gone.append(public_id)
                continue
            current = public_id == session.public_id
            infos.append(
                SessionInfo(
                    id=public_id,
                    current=current,
                    created_at=entry.created_at,
                    last_seen_at=session.last_seen_at if current else entry.last_seen_at,
                    user_agent=entry.user_agent,
                    ip=entry.ip,
                )
            )
        if gone:
            await self.store.hdel(index, *gone)
        return sorted(infos, key=lambda info: (info.created_at, info.id))

    async def revoke(self, session: Session, public_id: str) -> bool:
        """End one of the caller's own user's sessions by public id; ``False`` when it is not one of them."""
        if not _PUBLIC_ID.fullmatch(public_id):
            return False
        index = user_index_key(session.user["id"])
        blob = await self.store.hget(index, public_id)
        if blob is None:
            return False
        entry = self._open_index(index, public_id, blob)
        existed = entry is not None and await self.store.delete(entry.ref)
        await self.store.hdel(index, public_id)
        return existed

    # Internals -------------------------------------------------------------------------------------

    def _aad(self, key: str) -> bytes:
        return (self.store.prefix + key).encode()

    def _seal_record(self, ticket: Ticket, key: str, record: Record) -> bytes:
        return seal(ticket.key, record.encode(), self._aad(key))

    def _index_aad(self, index: str, public_id: str) -> bytes:
        return self._aad(index) + b"\x00" + public_id.encode()

    def _open_index(self, index: str, public_id: str, blob: bytes) -> IndexEntry | None:
        plain = unseal(self.keyring.index_keys, blob, self._index_aad(index, public_id))
        return None if plain is None else IndexEntry.decode(plain)

    async def _write_index(self, record: Record, key: str, *, min_ttl: float) -> None:
        index = user_index_key(record.user["id"])
        entry = IndexEntry(
            ref=key,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            user_agent=record.user_agent,
            ip=record.ip,
        )
        blob = seal(self.keyring.index_keys[0], entry.encode(), self._index_aad(index, record.public_id))
        await self.store.hset(index, record.public_id, blob, min_ttl=min_ttl)

    async def _touch(self, ticket: Ticket, key: str, record: Record, now: float, *, ttl: float) -> None:
        """Record ``last_seen_at`` (best effort: the read already succeeded, the request need not fail)."""
        record.last_seen_at = now
        try:
            # XX: a session ended since the read must not be brought back by this write.
            if await self.store.set(key, self._seal_record(ticket, key, record), ttl, only_if_exists=True):
                await self._write_index(record, key, min_ttl=ticket.expires_at - now)
        except StoreUnavailable:
            log.warning("could not record last_seen_at", extra={"session": self.keyring.log_id(ticket.id)})

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
        )
