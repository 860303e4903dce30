"""What a session is (``Session``, ``SessionInfo``) and how its record and index entry are encoded at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# Made once: json.loads on bytes first guesses their encoding and re-checks whitespace in Python, which
# costs a fifth of a record's decoding; records are always UTF-8 JSON written by encode() below.
_DECODER = json.JSONDecoder()


def _json_object(raw: bytes) -> Any:
    """The JSON value ``raw`` holds whole (ValueError for anything else, UnicodeDecodeError included)."""
    text = raw.decode()
    value, end = _DECODER.raw_decode(text)
    if end != len(text):
        raise ValueError("trailing data after the JSON value")
    return value


def _host(data: dict[str, Any]) -> str | None:
    """The record's optional tenant host (absent from records written before it was kept, and from sessions of
    ``CYBERARK_TENANT_URL`` itself)."""
    host = data.get("host")
    if host is None or type(host) is str:
        return host
    raise TypeError("the record's host is not a string")


# Not frozen: a frozen dataclass sets each field through object.__setattr__, a call per field, and one Session
# is built per proxied call (`python -m bench.instructions` measures it). Nothing assigns to its fields.
@dataclass(slots=True)
class Session:
    """A live session as the routes see it (times are epoch seconds).

    Example::

        session = await sessions.load(cookie)
        if session is not None:
            headers = {"Authorization": f"Bearer {session.bearer}"}
    """

    public_id: str
    log_id: str
    bearer: str = field(repr=False)
    user: dict[str, str] = field(repr=False)
    created_at: float
    last_seen_at: float
    expires_at: float
    idle_expires_at: float
    user_agent: str
    ip: str
    #: The store key of the record (a hash of the id, never the id itself).
    storage_key: str = field(repr=False)
    #: How the user signed in: "api" (the /auth/login steps) or "oauth" (the code flow).
    login: str = "api"
    #: OAuth sessions: when the access token (the bearer) expires, epoch seconds; None when it was not said.
    access_expires_at: float | None = None
    #: OAuth sessions: the refresh token, when the tenant issued one.
    refresh_token: str | None = field(default=None, repr=False)
    #: The pod that issued the bearer (``scheme://host[:port]``, after ``PodFqdn``); every bearer call of the
    #: session goes there. None: ``CYBERARK_TENANT_URL`` (also for records written before this was kept).
    tenant_url: str | None = None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """One entry of ``GET /auth/sessions``: ``SessionInfo(id="9f..", current=True, ...)``."""

    id: str
    current: bool
    created_at: float
    last_seen_at: float
    user_agent: str
    ip: str
    login: str = "api"


@dataclass(slots=True)
class Record:
    """The session record, sealed under the session's own key."""

    public_id: str
    bearer: str = field(repr=False)
    user: dict[str, str] = field(repr=False)
    created_at: float
    last_seen_at: float
    expires_at: float
    user_agent: str
    ip: str
    #: "api" or "oauth"; the three OAuth fields are written only for an OAuth session, so an API session's
    #: record is what it was before the OAuth login existed.
    login: str = "api"
    access_expires_at: float | None = None
    refresh_token: str | None = field(default=None, repr=False)
    #: See :attr:`Session.tenant_url`; an optional key, so records written before it still load.
    tenant_url: str | None = None

    def encode(self) -> bytes:
        data: dict[str, Any] = {
            "v": 1,
            "pid": self.public_id,
            "bearer": self.bearer,
            "user": self.user,
            "created": self.created_at,
            "seen": self.last_seen_at,
            "exp": self.expires_at,
            "ua": self.user_agent,
            "ip": self.ip,
        }
        if self.login != "api":
            data["login"] = self.login
            data["aexp"] = self.access_expires_at
            data["rt"] = self.refresh_token
        if self.tenant_url is not None:
            data["host"] = self.tenant_url
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Record | None:
        try:
            data = _json_object(raw)
            if data["v"] != 1:
                return None
            record = cls(
                public_id=str(data["pid"]),
                bearer=str(data["bearer"]),
                user={str(k): str(v) for k, v in data["user"].items()},
                created_at=float(data["created"]),
                last_seen_at=float(data["seen"]),
                expires_at=float(data["exp"]),
                user_agent=str(data["ua"]),
                ip=str(data["ip"]),
                tenant_url=_host(data),
            )
            if "login" in data:  # an OAuth session (API records carry none of these keys)
                record.login = str(data["login"])
                aexp, refresh = data["aexp"], data["rt"]
                record.access_expires_at = None if aexp is None else float(aexp)
                record.refresh_token = None if refresh is None else str(refresh)
            return record
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(slots=True)
class IndexEntry:
    """A session's line in its user's index, sealed under a server key: what the listing shows."""

    ref: str
    created_at: float
    last_seen_at: float
    expires_at: float
    user_agent: str
    ip: str
    login: str = "api"

    def encode(self) -> bytes:
        data: dict[str, Any] = {
            "v": 1,
            "ref": self.ref,
            "created": self.created_at,
            "seen": self.last_seen_at,
            "exp": self.expires_at,
            "ua": self.user_agent,
            "ip": self.ip,
        }
        if self.login != "api":
            data["login"] = self.login
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> IndexEntry | None:
        try:
            data = _json_object(raw)
            if data["v"] != 1:
                return None
            return cls(
                ref=str(data["ref"]),
                created_at=float(data["created"]),
                last_seen_at=float(data["seen"]),
                expires_at=float(data["exp"]),
                user_agent=str(data["ua"]),
                ip=str(data["ip"]),
                login=str(data.get("login", "api")),
            )
        except (ValueError, KeyError, TypeError):
            return None
