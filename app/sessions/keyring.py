"""Server-side keys derived from the session secrets, one HKDF label per purpose."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: HKDF ``info`` labels: a distinct label per use, so no derived key ever serves two purposes.
INDEX_LABEL = b"bff/session-index/v1"
PUBLIC_ID_LABEL = b"bff/public-id/v1"
LOG_ID_LABEL = b"bff/log-id/v1"
BUCKET_LABEL = b"bff/rate-bucket/v1"
INDEX_NAME_LABEL = b"bff/user-index-name/v1"
OAUTH_LOGIN_LABEL = b"bff/oauth-login-cookie/v1"
USER_NAME_LABEL = b"bff/user-name/v1"
ASSERTION_SID_LABEL = b"bff/assertion-sid/v1"


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=label).derive(secret)


def _keyed_hash(key: bytes, data: bytes, size: int) -> str:
    """``size`` bytes of keyed BLAKE2b over ``data``, as hex.

    BLAKE2b has a keyed mode of its own (a PRF, what these names need) and CPython implements it in C, one
    pass with no OpenSSL object to set up: cheaper than an HMAC-SHA256, and ``log_id`` runs on every
    proxied call (``python -m bench.instructions`` measures such changes).
    """
    return hashlib.blake2b(data, key=key, digest_size=size).hexdigest()


class Keyring:
    """Keys derived from the session secrets (first one current, all accepted).

    Example::

        keyring = Keyring([b"new secret", b"old secret"])
        keyring.log_id(session_id)  # "3f9c0a..." (16 hex digits)
    """

    __slots__ = (
        "_bucket_key",
        "_sid_key",
        "_index_keys",
        "_index_name_keys",
        "_log_key",
        "_name_keys",
        "_oauth_login_keys",
        "_public_key",
    )

    def __init__(self, secrets: Sequence[bytes]) -> None:
        if not secrets or any(not s for s in secrets):
            raise ValueError("at least one non-empty session secret is required")
        self._index_keys = tuple(_derive(s, INDEX_LABEL) for s in secrets)
        self._public_key = _derive(secrets[0], PUBLIC_ID_LABEL)
        self._log_key = _derive(secrets[0], LOG_ID_LABEL)
        self._bucket_key = _derive(secrets[0], BUCKET_LABEL)
        # One per secret, as for sealing the index: a user's index written before a rotation is still found.
        self._index_name_keys = tuple(dict.fromkeys(_derive(s, INDEX_NAME_LABEL) for s in secrets))
        self._oauth_login_keys = tuple(_derive(s, OAUTH_LOGIN_LABEL) for s in secrets)
        # One per secret too: a name written before a rotation must still lead an operator to its user.
        self._name_keys = tuple(dict.fromkeys(_derive(s, USER_NAME_LABEL) for s in secrets))
        self._sid_key = _derive(secrets[0], ASSERTION_SID_LABEL)

    @property
    def index_keys(self) -> tuple[bytes, ...]:
        """AES-GCM keys for the per-user index, the current (sealing) one first."""
        return self._index_keys

    @property
    def oauth_login_keys(self) -> tuple[bytes, ...]:
        """AES-GCM keys for the OAuth login cookie's sealed state, the current (sealing) one first."""
        return self._oauth_login_keys

    def public_id(self, session_id: bytes) -> str:
        """The session's opaque public id: a keyed hash, neither the raw id nor its storage key."""
        return _keyed_hash(self._public_key, session_id, 16)

    def log_id(self, session_id: bytes) -> str:
        """A short keyed hash of ``session_id`` that logs may carry instead of the id."""
        return _keyed_hash(self._log_key, session_id, 8)

    def user_names(self, name: str) -> tuple[str, ...]:
        """Keyed hashes of a user name, case-insensitive, the current (written) one first, one per secret:
        they name the keys that lead an operator to a user.
        """
        folded = name.casefold().encode()
        return tuple(_keyed_hash(key, folded, 16) for key in self._name_keys)

    def assertion_sid(self, storage_key: str) -> str:
        """An upstream's ``sid`` for a session (from its storage key): the same on every call of the session,
        and neither its id, its storage key nor its public id, so an upstream can correlate but never act."""
        return _keyed_hash(self._sid_key, storage_key.encode(), 16)

    def bucket(self, value: str) -> str:
        """A keyed hash naming a rate-limit bucket, so the store never shows a client IP or username."""
        return _keyed_hash(self._bucket_key, value.encode(), 16)

    def index_names(self, user_id: str) -> tuple[str, ...]:
        """Keyed hashes naming a user's session index, the current (written) one first, one per secret.

        Keyed, unlike a plain hash of the user id: a copy of the store and a known user id do not tell
        whether that user has sessions.
        """
        return tuple(_keyed_hash(key, user_id.encode(), 16) for key in self._index_name_keys)
