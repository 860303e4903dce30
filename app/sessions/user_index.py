"""A user's sessions as the store lists them: the per-user index, and the user names operators look up.

Layout in the store (relative to the prefix):

- ``u:<keyed hash(user id)>`` the user's index: a hash of public id -> listing entry, AES-GCM under a server
                          key (HKDF of the session secrets), living at least as long as the user's newest
                          session. Its name is a keyed BLAKE2b (:meth:`Keyring.index_names`), so a copy of
                          the store and a known user id say nothing; after a secret rotation the index named
                          under an older secret is still read (and expires once no one writes it).
- ``n:<keyed hash(name)>`` a user name (case-insensitive: the tenant's, and the one typed at login) -> the
                          user ids that signed in under it, sealed like the index, living as long as the
                          user's newest session: how an operator's ``python -m app.admin sessions revoke
                          --user NAME`` finds the index. Named under every secret too, for the same reason.

The index is written apart from the record (no MULTI, no hash tag: Cluster-ready), so it may briefly list a
session whose record is gone (expired or ended by another writer); listing and every login prune such lines,
so the only cost is a stale line nobody sees. Every line carries its record's key (``ref``), which is how
ending a listed session deletes the record.

Example::

    index = UserIndex(store, keyring, max_lifetime=43200)
    await index.sessions_of_user("jane@example.com")   # what `python -m app.admin sessions list` prints
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from app.sessions.keyring import Keyring
from app.sessions.records import IndexEntry, Record, SessionInfo
from app.sessions.sealed import seal, unseal
from app.store.protocol import Store

log = logging.getLogger("bff.sessions")

_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class IndexView:
    """A user's index as read (every name of it), with its dead lines already deleted."""

    #: public id -> entry, for sessions whose record still exists.
    live: dict[str, IndexEntry] = field(default_factory=dict)
    #: public id -> the index keys holding a line for it (several only across a secret rotation).
    where: dict[str, list[str]] = field(default_factory=dict)


class UserIndex:
    """The per-user index of sessions and the name lookup; the session service and the operator use it."""

    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        *,
        max_lifetime: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.max_lifetime = max_lifetime
        self.clock = clock

    def key(self, user_id: str) -> str:
        """The store key of ``user_id``'s index, the one written now (see the module docstring)."""
        return "u:" + self.keyring.index_names(user_id)[0]

    def keys(self, user_id: str) -> list[str]:
        """Every store key ``user_id``'s index may have, the current one first (one per secret)."""
        return ["u:" + name for name in self.keyring.index_names(user_id)]

    # Writing ---------------------------------------------------------------------------------------

    async def add(self, record: Record, ref: str, *, min_ttl: float) -> None:
        """Write (or rewrite) the line of the session ``record`` (stored at ``ref``) in its user's index."""
        index = self.key(record.user["id"])
        entry = IndexEntry(
            ref=ref,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            expires_at=record.expires_at,
            user_agent=record.user_agent,
            ip=record.ip,
            login=record.login,
        )
        blob = seal(self.keyring.index_keys[0], entry.encode(), self._line_aad(index, record.public_id))
        await self.store.hset(index, record.public_id, blob, min_ttl=min_ttl)

    async def add_names(self, names: Iterable[str | None], user_id: str) -> None:
        """Let each of ``names`` (any case) lead to ``user_id``: one field per user, named by a keyed hash."""
        user_field = self.keyring.user_names(user_id)[0]
        for name in {n.casefold() for n in names if n}:
            key = "n:" + self.keyring.user_names(name)[0]
            plain = json.dumps({"v": 1, "id": user_id}).encode()
            blob = seal(self.keyring.index_keys[0], plain, self._aad(f"{key}/{user_field}"))
            await self.store.hset(key, user_field, blob, min_ttl=self.max_lifetime)

    async def remove(self, user_id: str, public_id: str) -> None:
        """Delete the session's line under every name of the user's index."""
        for index in self.keys(user_id):
            await self.store.hdel(index, public_id)

    # Reading ---------------------------------------------------------------------------------------

    async def read(self, user_id: str) -> IndexView:
        """The user's live index entries; lines of sessions that are gone are deleted on the way."""
        now = self.clock()
        view = IndexView()
        gone: dict[str, list[str]] = {}  # index key -> public ids to delete there
        for index in self.keys(user_id):  # the current name first: its line of a session is newest
            for public_id, blob in (await self.store.hgetall(index)).items():
                entry = self._open(index, public_id, blob)
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

    async def listing(self, user_id: str, *, current: str, current_seen: float) -> list[SessionInfo]:
        """The user's live sessions, oldest first; the one listed as ``current`` flagged, seen at
        ``current_seen``."""
        view = await self.read(user_id)
        infos = [
            _info(public_id, entry, current=public_id == current, seen=current_seen)
            for public_id, entry in view.live.items()
        ]
        return sorted(infos, key=lambda info: (info.created_at, info.id))

    # Ending ----------------------------------------------------------------------------------------

    async def end_oldest(self, view: IndexView, *, keep: int) -> None:
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

    async def end_listed(self, user_id: str, public_id: str) -> bool:
        """End the user's session listed as ``public_id``; ``False`` when it is not one of theirs."""
        return await self.end_listed_in(self.keys(user_id), public_id)

    async def end_listed_in(self, indexes: Sequence[str], public_id: str) -> bool:
        """End the session listed as ``public_id`` in one of ``indexes``; ``True`` when its record existed."""
        if not _PUBLIC_ID.fullmatch(public_id):
            return False
        entry: IndexEntry | None = None
        for index in indexes:
            blob = await self.store.hget(index, public_id)
            if blob is not None:
                entry = self._open(index, public_id, blob)
                break
        else:
            return False
        existed = entry is not None and await self.store.delete(entry.ref)
        for index in indexes:
            await self.store.hdel(index, public_id)
        return existed

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
                    infos.append(_info(public_id, entry, current=False, seen=entry.last_seen_at))
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
        """The index keys ``name`` leads to: as a tenant user id, and through the user name's entries under
        every secret (a session made before a rotation wrote its name under the older one)."""
        user_ids = {name}
        for hashed in self.keyring.user_names(name):
            key = "n:" + hashed
            # Every user who signed in under this name (a federated login may type one name and end as
            # another user): revoking them all is the safe side of an ambiguous name.
            for user_field, blob in (await self.store.hgetall(key)).items():
                plain = unseal(self.keyring.index_keys, blob, self._aad(f"{key}/{user_field}"))
                try:
                    user_ids.add(str(json.loads(plain or b"")["id"]))
                except (ValueError, KeyError, TypeError):
                    log.warning("unreadable user name entry")
        return sorted({index for user_id in user_ids for index in self.keys(user_id)})

    async def _entries(self, index: str) -> list[tuple[str, IndexEntry]]:
        entries = []
        for public_id, blob in (await self.store.hgetall(index)).items():
            entry = self._open(index, public_id, blob)
            if entry is not None:
                entries.append((public_id, entry))
        return entries

    # Sealing ---------------------------------------------------------------------------------------

    def _aad(self, key: str) -> bytes:
        return (self.store.prefix + key).encode()

    def _line_aad(self, index: str, public_id: str) -> bytes:
        return self._aad(index) + b"\x00" + public_id.encode()

    def _open(self, index: str, public_id: str, blob: bytes) -> IndexEntry | None:
        plain = unseal(self.keyring.index_keys, blob, self._line_aad(index, public_id))
        return None if plain is None else IndexEntry.decode(plain)


def _info(public_id: str, entry: IndexEntry, *, current: bool, seen: float) -> SessionInfo:
    return SessionInfo(
        id=public_id,
        current=current,
        created_at=entry.created_at,
        last_seen_at=seen if current else entry.last_seen_at,
        user_agent=entry.user_agent,
        ip=entry.ip,
        login=entry.login,
    )
