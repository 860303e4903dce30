"""Identity assertions: short-lived JWTs the BFF signs for an upstream, and the JWKS that verifies them.

Example::

    keys = AssertionKeys.from_settings(settings)         # BFF_ASSERTION_KEYS, or a per-process key (dev)
    signer = AssertionSigner(keys, issuer="https://app.example.com", audience="https://orders.internal",
                             sid=keyring.assertion_sid)
    signer.bearer(session)                               # "eyJhbGciOiJFUzI1NiIs..."
    keys.jwks()                                          # {"keys": [{"kty": "EC", "kid": ..., ...}]}

Each key's ``kid`` is its RFC 7638 thumbprint, so every replica and every restart names a key the same way.
An assertion lives :data:`LIFETIME` seconds and is reused for the same session while it has more than
:data:`REUSE_MARGIN` left: the hot path signs at most once per session and upstream per 90 s.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, OKPKey, RSAKey

from app.sessions.records import Session
from app.settings import Settings
from app.upstreams.keys import PrivateKey, algorithm, parse_private_keys

log = logging.getLogger("bff.upstreams")

#: Seconds an assertion is valid (api.md §7: exp ≤ iat + 120 s).
LIFETIME = 120
#: An assertion is reused while it has more than this many seconds to live.
REUSE_MARGIN = 30
#: Assertions kept per upstream (one per session); past it the expired ones go, then all of them.
MAX_CACHED = 10_000

JoseKey = ECKey | RSAKey | OKPKey


class SigningKey:
    """One key of the bundle as joserfc holds it, with its ``alg`` and thumbprint ``kid``."""

    __slots__ = ("alg", "jose", "kid")

    def __init__(self, key: PrivateKey) -> None:
        self.alg = algorithm(key)
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        cls: type[JoseKey] = {"ES256": ECKey, "RS256": RSAKey, "EdDSA": OKPKey}[self.alg]  # type: ignore[assignment]
        self.jose: JoseKey = cls.import_key(pem)
        self.kid: str = self.jose.thumbprint()

    def public(self) -> dict[str, Any]:
        """The public JWK, as the JWKS publishes it."""
        return dict(self.jose.as_dict(private=False, kid=self.kid, alg=self.alg, use="sig"))


class AssertionKeys:
    """The assertion keys: the first signs, all are published (rotation)."""

    def __init__(self, keys: Sequence[PrivateKey]) -> None:
        if not keys:
            raise ValueError("at least one assertion key is needed")
        self.keys = tuple(SigningKey(key) for key in keys)
        self.signing = self.keys[0]

    @classmethod
    def from_settings(cls, settings: Settings) -> AssertionKeys:
        """``BFF_ASSERTION_KEYS``'s keys; without it (development only) one made for this process."""
        if settings.bff_assertion_keys is not None:
            return cls(parse_private_keys(settings.bff_assertion_keys.get_secret_value()))
        log.warning(
            "BFF_ASSERTION_KEYS is not set: signing assertions with a key made for this process; "
            "upstreams must fetch the JWKS again after a restart"
        )
        return cls([ec.generate_private_key(ec.SECP256R1())])

    def jwks(self) -> dict[str, Any]:
        """``GET /.well-known/jwks.json``'s document: every key's public half."""
        return {"keys": [key.public() for key in self.keys]}

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWS of ``claims`` under the signing key, ``typ: JWT``."""
        key = self.signing
        header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
        if key.alg == "EdDSA":
            # joserfc warns that RFC 9864 prefers "Ed25519"; the spec and today's verifiers still name EdDSA.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SecurityWarning)
                return jwt.encode(header, claims, key.jose, algorithms=[key.alg])
        return jwt.encode(header, claims, key.jose, algorithms=[key.alg])


class AssertionSigner:
    """Assertions for one upstream (its ``aud``), one reused per session while fresh."""

    def __init__(
        self,
        keys: AssertionKeys,
        *,
        issuer: str,
        audience: str,
        sid: Callable[[str], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        #: The session's ``sid`` claim from its storage key: a keyed hash, never the session id.
        self._sid = sid
        self.clock = clock
        #: storage key -> (assertion, its exp).
        self._cache: dict[str, tuple[str, int]] = {}
        #: How many assertions this signer has signed (the tests count the hot path's signing).
        self.signed = 0

    def bearer(self, session: Session) -> str:
        """The assertion for ``session``: the cached one while it has over REUSE_MARGIN s, else a new one."""
        now = self.clock()
        cached = self._cache.get(session.storage_key)
        if cached is not None and cached[1] - now > REUSE_MARGIN:
            return cached[0]
        issued = int(now)
        expires = issued + LIFETIME
        user = session.user
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": user.id,
        }
        # Each when the user has it.
        for claim, value in (
            ("preferred_username", user.username),
            ("name", user.display_name),
            ("email", user.email),
        ):
            if value:
                claims[claim] = value
        claims.update(
            login=session.login,
            sid=self._sid(session.storage_key),
            iat=issued,
            exp=expires,
            jti=secrets.token_urlsafe(16),
        )
        token = self.keys.sign(claims)
        self.signed += 1
        self._remember(session.storage_key, token, expires, now)
        return token

    def _remember(self, key: str, token: str, expires: int, now: float) -> None:
        cache = self._cache
        if len(cache) >= MAX_CACHED and key not in cache:
            for stale in [k for k, (_, exp) in cache.items() if exp - now <= REUSE_MARGIN]:
                del cache[stale]
            if len(cache) >= MAX_CACHED:
                cache.clear()
        cache[key] = (token, expires)
