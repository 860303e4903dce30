"""RS256 signing keys of one OAuth app, its JWKS, and the deliberately bad signatures tests ask for.

Signing and the JWKS use joserfc (the same library the BFF validates with). Example::

    keys = AppKeys("bff-demo")
    token = keys.sign({"sub": "u"}, keys.current)
    keys.rotate(now=0.0, keep_old_for=None)  # a new kid; the old key stays published
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

#: How an id_token can be spoiled on purpose (POST /_sim/oauth/{app}/tamper); the first three are signatures.
SIGNATURE_TAMPERS = ("wrong_key", "unknown_kid", "alg_none")
CLAIM_TAMPERS = ("wrong_iss", "wrong_aud", "expired", "wrong_nonce", "no_nonce")
TAMPERS = SIGNATURE_TAMPERS + CLAIM_TAMPERS


def new_key(kid: str | None = None) -> RSAKey:
    """A fresh 2048-bit RSA key for RS256 with its own ``kid``."""
    return RSAKey.generate_key(
        2048, parameters={"kid": kid or secrets.token_urlsafe(12), "use": "sig", "alg": "RS256"}
    )


@dataclass
class Published:
    """A key in the JWKS; ``until`` (simulator clock) is when it leaves, None for never."""

    key: RSAKey
    until: float | None = None


class AppKeys:
    """The current signing key and every key still published; call with the state lock held."""

    def __init__(self, app_id: str) -> None:
        self.app_id = app_id
        # Generated once per app (about 0.3 s): /_sim/reset puts this key back instead of making a new one.
        self._initial = new_key()
        self._rogue: RSAKey | None = None
        self.reset()

    def reset(self) -> None:
        self.current = self._initial
        self.published = [Published(self._initial)]

    @property
    def kid(self) -> str:
        return str(self.current.kid)

    def rotate(self, now: float, keep_old_for: float | None, fresh: RSAKey | None = None) -> str:
        """``fresh`` (or a new key) signs from now on. Old keys stay published ``keep_old_for`` seconds
        (None: until reset, 0: dropped now)."""
        for entry in self.published:
            if keep_old_for is not None:
                until = now + keep_old_for
                entry.until = until if entry.until is None else min(entry.until, until)
        self.current = fresh or new_key()
        self.published.append(Published(self.current))
        self._forget(now)
        return self.kid

    def _forget(self, now: float) -> None:
        self.published = [
            e for e in self.published if e.key is self.current or e.until is None or e.until > now
        ]

    def jwks(self, now: float) -> dict[str, Any]:
        self._forget(now)
        return dict(KeySet([e.key for e in self.published]).as_dict(private=False))

    def rogue(self) -> RSAKey:
        """A key the JWKS never shows, made on first use."""
        if self._rogue is None:
            self._rogue = new_key()
        return self._rogue


def sign(claims: dict[str, Any], key: RSAKey, kid: str | None = None) -> str:
    """An RS256 JWT of ``claims``; ``kid`` defaults to the key's own."""
    return jwt.encode({"alg": "RS256", "kid": kid or key.kid, "typ": "JWT"}, claims, key)


def unsigned(claims: dict[str, Any]) -> str:
    """An ``alg: none`` token: joserfc rightly refuses to make one, so this test-only spoiler builds it."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def sign_id_token(claims: dict[str, Any], keys: AppKeys, current: RSAKey, tamper: str | None) -> str:
    """Sign with ``current`` (taken under the lock), or spoil the signature as ``tamper`` says."""
    if tamper == "wrong_key":
        return sign(claims, keys.rogue(), kid=str(current.kid))
    if tamper == "unknown_kid":
        return sign(claims, keys.rogue(), kid=f"unknown-{secrets.token_hex(4)}")
    if tamper == "alg_none":
        return unsigned(claims)
    return sign(claims, current)
