"""AES-GCM sealing of values at rest: ``version || 96-bit nonce || ciphertext+tag``, bound to their key."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_NONCE_BYTES = 12


def seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    """Encrypt ``plaintext`` under ``key``; ``associated`` (the storage key) must match to open it."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, _VERSION + associated)


def unseal(keys: Iterable[bytes], blob: bytes, associated: bytes) -> bytes | None:
    """The plaintext of ``blob`` under the first of ``keys`` that opens it; ``None`` when none does."""
    if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
        return None
    nonce, body = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
    for key in keys:
        try:
            return AESGCM(key).decrypt(nonce, body, _VERSION + associated)
        except InvalidTag:
            continue
    return None
