"""The signed ticket a cookie carries: a random id, the key that opens its record, and its absolute expiry."""

from __future__ import annotations

import hashlib
import re
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


def _canonical_b64(size: int) -> str:
    """A regex for the one unpadded URL-safe base64 spelling of exactly ``size`` bytes.

    base64 decoders ignore the spare low bits of a final partial group, so ``...A`` and ``...B`` can decode
    alike; only the spelling whose spare bits are zero (the one an encoder writes) is accepted here.
    """
    full, rest = divmod(size, 3)
    head = f"[A-Za-z0-9_-]{{{full * 4}}}"
    if rest == 0:
        return head
    if rest == 1:  # 2 characters: 6 + 2 bits used, the second's low 4 bits spare
        return head + "[A-Za-z0-9_-][AQgw]"
    return head + "[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]"  # 3 characters: the third's low 2 bits spare


# What a genuine cookie looks like: the payload, ".", the HMAC-SHA256 signature, both canonical. Checked
# before any HMAC is computed, so anything else is refused at the cost of one regex match.
_COOKIE_SHAPE = re.compile(
    _canonical_b64(_LAYOUT.size) + r"\." + _canonical_b64(hashlib.sha256().digest_size)
)


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
        if not cookie or len(cookie) > MAX_COOKIE_LENGTH or _COOKIE_SHAPE.fullmatch(cookie) is None:
            return None
        try:
            raw = base64_decode(self._signer.unsign(cookie))
        except (BadData, ValueError):
            return None
        version, ticket_id, key, expires_ms = _LAYOUT.unpack(raw)
        if version != _VERSION:
            return None
        return Ticket(ticket_id, key, expires_ms / 1000)
