"""Sessions: create, load (one store round trip), end, list and revoke a user's sessions.

Layout in the store (relative to the prefix):

- ``s:<sha256(id)>``      the record, AES-GCM under the session's own key (only its cookie has it), TTL =
                          min(idle timeout, time left before the absolute expiry).
- ``u:<keyed hash(user id)>`` the user's index: a hash of public id -> listing entry, AES-GCM under a server
                          key (HKDF of the session secrets), living at least as long as the user's newest
                          session. Its name is a keyed BLAKE2b (:meth:`Keyring.index_names`), so a copy of
                          the store and a known user id say nothing; after a secret rotation the index named
                          under an older secret is still read (and expires once no one writes it).
- ``n:<keyed hash(name)>`` a user name (case-insensitive: the tenant's, and the one typed at login) -> the
                          user id, sealed like the index, living as long as the user's newest session: how an
                          operator's ``python -m app.admin sessions revoke --user NAME`` finds the index.

Record and index are separate keys written one after the other (no MULTI, no hash tag: Cluster-ready). The
index may briefly list a session whose record is gone (expired or ended by another writer); listing and
every login (:meth:`SessionService.create`) prune such entries, so the only cost is a stale line nobody
sees, and a login also ends the user's oldest sessions beyond ``max_per_user`` (two logins at the same
instant may each leave one more, until the next login). A read is a GET (and PTTL, pipelined), never a
write: the idle timer is pushed forward (PEXPIRE) only once its slack is used up (:func:`idle_slack`), and
``last_seen_at`` only when the stored one is over ``LAST_SEEN_INTERVAL`` old (record + index entry), so the
listing is accurate to that interval.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.errors import StoreUnavailable
from app.sessions.keyring import Keyring
from app.sessions.records import IndexEntry, Record, Session, SessionInfo
from app.sessions.sealed import seal, unseal
from app.sessions.ticket import Ticket, TicketCodec
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


def idle_slack(idle_timeout: float) -> float:
    """How much of the idle timer a session may lose to coalesced slides (spec §2): 30 s, or 2 % of a long
    timeout, never more than a quarter of it, so requests closer together than ¾ of it always keep a session.

    >>> idle_slack(600), idle_slack(1800), idle_slack(60)
    (30.0, 36.0, 15.0)
    """
    return min(max(30.0, 0.02 * idle_timeout), idle_timeout / 4)


_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_INDEX_KEY = re.compile(r"u:[0-9a-f]{32}")


@dataclass
class _IndexView:
    """A user's index as read (every name of it), with its dead lines already deleted."""

    #: public id -> entry, for sessions whose record still exists.
    live: dict[str, IndexEntry] = field(default_factory=dict)
    #: public id -> the index keys holding a line for it (several only across a secret rotation).
    where: dict[str, list[str]] = field(default_factory=dict)


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
        """The store key of ``user_id``'s session index, the one written now (see the module docstring)."""
        return "u:" + self.keyring.index_names(user_id)[0]

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
        await self._end_oldest(await self._read_index(user["id"]), keep=self.max_per_user - 1)
        await self.store.set(key, self._seal_record(ticket, key, record), ttl)
        # The newest session lives longest, so this keeps the index alive for all of the user's sessions.
        await self._write_index(record, key, min_ttl=self.max_lifetime)
        for name in {n.casefold() for n in (user.get("username"), login_name) if n}:
            await self._write_name(name, user["id"])
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
        for index in self._index_keys(session.user["id"]):
            await self.store.hdel(index, session.public_id)
        log.info("session ended", extra={"session": session.log_id})

    async def list_for(self, session: Session) -> list[SessionInfo]:
        """The live sessions of ``session``'s user, oldest first, the caller's own flagged ``current``."""
        view = await self._read_index(session.user["id"])
        infos: list[SessionInfo] = []
        for public_id, entry in view.live.items():
            current = public_id == session.public_id
            infos.append(
                SessionInfo(
                    id=public_id,
                    current=current,
                    created_at=entry.created_at,
                    last_seen_at=session.last_seen_at if current else entry.last_seen_at,
                    user_agent=entry.user_agent,
                    ip=entry.ip,
                    login=entry.login,
                )
            )
        return sorted(infos, key=lambda info: (info.created_at, info.id))

    async def revoke(self, session: Session, public_id: str) -> bool:
        """End one of the caller's own user's sessions by public id; ``False`` when it is not one of them."""
        return await self._end_listed(self._index_keys(session.user["id"]), public_id)

    def reference(self, session: Session) -> str:
        """A reference that lets :meth:`end_referenced` end ``session`` later, without its cookie.

        Keyed names only (the public id and the user's index names, as the store already holds them): it
        leads to the session's index line, which leads to the record; it opens nothing and proves nothing.
        """
        return "/".join((session.public_id, *self._index_keys(session.user["id"])))

    async def end_referenced(self, reference: str) -> bool:
        """End the session :meth:`reference` named; ``False`` when it has ended already (or is not one)."""
        public_id, *indexes = reference.split("/")
        if not indexes or not all(_INDEX_KEY.fullmatch(index) for index in indexes):
            return False
        return await self._end_listed(indexes, public_id)

    async def _end_listed(self, indexes: list[str], public_id: str) -> bool:
        """End the session listed as ``public_id`` in one of ``indexes``; ``True`` when its record existed."""
        if not _PUBLIC_ID.fullmatch(public_id):
            return False
        entry: IndexEntry | None = None
        for index in indexes:
            blob = await self.store.hget(index, public_id)
            if blob is not None:
                entry = self._open_index(index, public_id, blob)
                break
        else:
            return False
        existed = entry is not None and await self.store.delete(entry.ref)
        for index in indexes:
            await self.store.hdel(index, public_id)
        return existed

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

    # Operators (python -m app.admin) ---------------------------------------------------------------

    async def sessions_of_user(self, name: str) -> list[SessionInfo]:
        """The live sessions of the user called ``name`` (user name, any case, or tenant user id)."""
        now = self.clock()
        infos: list[SessionInfo] = []
        seen: set[str] = set()  # after a secret rotation one session may be listed under two index names
        for index in await self._indexes_named(name):
            entries = await self._entries(index)
            alive = await self.store.exists_many([entry.ref for _, entry in entries])
            for (public_id, entry), exists in zip(entries, alive, strict=True):
                if exists and entry.expires_at > now and public_id not in seen:
                    seen.add(public_id)
                    infos.append(
                        SessionInfo(
                            public_id, False, entry.created_at, entry.last_seen_at, entry.user_agent, entry.ip
                        )
                    )
        return sorted(infos, key=lambda info: (info.created_at, info.id))

    async def revoke_user(self, name: str) -> int:
        """End every session of the user called ``name`` on every replica; how many records were deleted."""
        count = 0
        for index in await self._indexes_named(name):
            entries = await self._entries(index)
            for _, entry in entries:
                count += await self.store.delete(entry.ref)
            if entries:
                await self.store.hdel(index, *(public_id for public_id, _ in entries))
        return count

    async def _indexes_named(self, name: str) -> list[str]:
        """The index keys ``name`` leads to: as a tenant user id, and through the user name's alias."""
        user_ids = {name}
        key = "n:" + self.keyring.user_name(name)
        # Every user who signed in under this name (a federated login may type one name and end as another
        # user): revoking them all is the safe side of an ambiguous name.
        for user_field, blob in (await self.store.hgetall(key)).items():
            plain = unseal(self.keyring.index_keys, blob, self._aad(f"{key}/{user_field}"))
            try:
                user_ids.add(str(json.loads(plain or b"")["id"]))
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable user name entry")
        return sorted({index for user_id in user_ids for index in self._index_keys(user_id)})

    async def _entries(self, index: str) -> list[tuple[str, IndexEntry]]:
        entries = []
        for public_id, blob in (await self.store.hgetall(index)).items():
            entry = self._open_index(index, public_id, blob)
            if entry is not None:
                entries.append((public_id, entry))
        return entries

    async def _write_name(self, name: str, user_id: str) -> None:
        """Add ``user_id`` to the users ``name`` leads to (one field per user, named by a keyed hash)."""
        key = "n:" + self.keyring.user_name(name)
        user_field = self.keyring.user_name(user_id)
        plain = json.dumps({"v": 1, "id": user_id}).encode()
        blob = seal(self.keyring.index_keys[0], plain, self._aad(f"{key}/{user_field}"))
        await self.store.hset(key, user_field, blob, min_ttl=self.max_lifetime)

    # Internals -------------------------------------------------------------------------------------

    def _index_keys(self, user_id: str) -> list[str]:
        return ["u:" + name for name in self.keyring.index_names(user_id)]

    async def _read_index(self, user_id: str) -> _IndexView:
        """The user's live index entries; lines of sessions that are gone are deleted on the way."""
        now = self.clock()
        view = _IndexView()
        gone: dict[str, list[str]] = {}  # index key -> public ids to delete there
        for index in self._index_keys(user_id):  # the current name first: its line of a session is newest
            for public_id, blob in (await self.store.hgetall(index)).items():
                entry = self._open_index(index, public_id, blob)
                if entry is None or entry.expires_at <= now:
                    gone.setdefault(index, []).append(public_id)
                    continue
                view.where.setdefault(public_id, []).append(index)
                view.live.setdefault(public_id, entry)
        candidates = list(view.live.items())
        alive = await self.store.exists_many([entry.ref for _, entry in candidates])
        for (public_id, _), exists in zip(candidates, alive, strict=True):
            if not exists:
                del view.live[public_id]
                for index in view.where.pop(public_id):
                    gone.setdefault(index, []).append(public_id)
        for index, public_ids in gone.items():
            await self.store.hdel(index, *public_ids)
        return view

    async def _end_oldest(self, view: _IndexView, *, keep: int) -> None:
        """End the oldest of ``view``'s live sessions until ``keep`` are left: record and index lines."""
        excess = len(view.live) - keep
        if excess <= 0:
            return
        oldest = sorted(view.live.items(), key=lambda item: (item[1].created_at, item[0]))[:excess]
        for public_id, entry in oldest:
            await self.store.delete(entry.ref)
            for index in view.where[public_id]:
                await self.store.hdel(index, public_id)
        # No id to name them by (the index holds none); the count says the cap was met.
        log.info("sessions ended past the per-user cap", extra={"count": excess})

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
        index = self.index_key(record.user["id"])
        entry = IndexEntry(
            ref=key,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            user_agent=record.user_agent,
            ip=record.ip,
            login=record.login,
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
            login=record.login,
            access_expires_at=record.access_expires_at,
            refresh_token=record.refresh_token,
            tenant_url=record.tenant_url,
        )
