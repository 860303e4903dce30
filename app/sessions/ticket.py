"""The signed ticket a cookie carries: a random id, the key that opens its record, and its absolute expiry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from itsdangerous import BadData, Signer
from itsdangerous.encoding import base64_decode, base64_encode

#: 256-bit id and 256-bit record key, as the issue asks.
ID_BYTES = 32
KEY_BYTES = 32
#: One itsdangerous salt per purpose, so a session cookie never passes as a login cookie or back.
SALTS: dict[str, bytes] = {"session": b"bff.session.v1", "login": b"bff.login.v1"}
#: A real ticket is ~140 characters; refusing long input early keeps HMAC work bounded.
MAX_COOKIE_LENGTH = 256

_VERSION = 1
# version (1 byte) | id (32) | key (32) | absolute expiry in epoch milliseconds (8, big-endian)
_LAYOUT = struct.Struct(f">B{ID_BYTES}s{KEY_BYTES}sQ")

Purpose = Literal["session", "login"]


@dataclass(frozen=True, slots=True)
class Ticket:
    """What a cookie proves: ``Ticket.new(expires_at=time.time() + 3600)``."""

    id: bytes = field(repr=False)
    key: bytes = field(repr=False)
    expires_at: float

    @classmethod
    def new(cls, expires_at: float) -> Ticket:
        # Whole milliseconds, so the value read back from a cookie equals the one issued.
        return cls(
            secrets.token_bytes(ID_BYTES), secrets.token_bytes(KEY_BYTES), round(expires_at * 1000) / 1000
        )

    @property
    def storage_hash(self) -> str:
        """The hex SHA-256 of the id: what the store's key holds instead of the id."""
        return hashlib.sha256(self.id).hexdigest()


class _Signer(Signer):
    """itsdangerous' Signer with each secret's derived key computed once, not on every sign and verify."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Every key this signer can use, derived now (itsdangerous would redo the HMAC on each call).
        self._derived = {key: super(_Signer, self).derive_key(key) for key in self.secret_keys}
        self._signing = self._derived[self.secret_keys[-1]]

    def derive_key(self, secret_key: str | bytes | None = None) -> bytes:
        if secret_key is None:
            return self._signing
        key = secret_key.encode() if isinstance(secret_key, str) else secret_key
        return self._derived.get(key) or super().derive_key(key)


class TicketCodec:
    """Signs tickets into cookie values and reads them back (HMAC-SHA256; first secret signs, all verify).

    Example::

        codec = TicketCodec([b"new secret", b"old secret"], "session")
        cookie = codec.dump(Ticket.new(expires_at=time.time() + 3600))
        codec.load(cookie)  # Ticket(...), or None for anything tampered, foreign or malformed
    """

    __slots__ = ("_signer",)

    def __init__(self, secrets: Sequence[bytes], purpose: Purpose) -> None:
        if not secrets or any(not s for s in secrets):
            raise ValueError("at least one non-empty session secret is required")
        # itsdangerous signs with the LAST key of its list and verifies with all: ours is newest-first.
        self._signer = _Signer(
            list(reversed(secrets)),
            salt=SALTS[purpose],
            key_derivation="hmac",
            digest_method=hashlib.sha256,
        )

    def dump(self, ticket: Ticket) -> str:
        """The cookie value for ``ticket``."""
        payload = _LAYOUT.pack(_VERSION, ticket.id, ticket.key, round(ticket.expires_at * 1000))
        return self._signer.sign(base64_encode(payload)).decode("ascii")

    def load(self, cookie: str | None) -> Ticket | None:
        """The ticket in ``cookie``; ``None`` when missing, malformed, tampered or signed by a stranger."""
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH or not cookie.isascii():
            return None
        try:
            value = self._signer.unsign(cookie)
            sig = cookie.encode("ascii").rsplit(b".", 1)[1]
            # base64 decoding ignores stray characters and the spare bits of the last one; only the
            # canonical spelling of a signature is accepted, so an altered cookie never verifies.
            if not hmac.compare_digest(base64_encode(base64_decode(sig)), sig):
                return None
            raw = base64_decode(value)
        except (BadData, ValueError, IndexError):
            return None
        if len(raw) != _LAYOUT.size or base64_encode(raw) != value:
            return None
        version, ticket_id, key, expires_ms = _LAYOUT.unpack(raw)
        if version != _VERSION:
            return None
        return Ticket(ticket_id, key, expires_ms / 1000)
