"""Identity assertions: kid = RFC 7638 thumbprint, algorithms by key type, lifetime and reuse, rotation."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from app.identity.models import User
from app.sessions.records import Session
from app.upstreams.assertions import LIFETIME, REUSE_MARGIN, AssertionKeys, AssertionSigner
from app.upstreams.keys import parse_private_keys
from tests.upstreams.test_config import pem


def b64(number: int, size: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(size, "big")).rstrip(b"=").decode()


def thumbprint(members: dict[str, str]) -> str:
    """RFC 7638 §3, spelled out: the required members, sorted, no whitespace, SHA-256, base64url."""
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def session(storage_key: str = "k1", login: str = "api") -> Session:
    return Session(
        public_id="p" * 32,
        log_id="l" * 16,
        bearer="TENANT-TOKEN",
        user=User(
            id="u-1", username="alice@example.com", display_name="Alice", email="a@example.com", tenant="T"
        ),
        created_at=0,
        last_seen_at=0,
        expires_at=0,
        idle_expires_at=0,
        user_agent="ua",
        ip="127.0.0.1",
        storage_key=storage_key,
        login=login,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def signer(keys: AssertionKeys, clock: Clock) -> AssertionSigner:
    return AssertionSigner(
        keys, issuer="https://app.example", audience="https://orders", sid=lambda k: "sid-" + k, clock=clock
    )


def test_the_kid_is_the_rfc_7638_thumbprint_the_same_on_every_load() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    expected = thumbprint({"crv": "P-256", "kty": "EC", "x": b64(numbers.x, 32), "y": b64(numbers.y, 32)})
    text = pem(key)
    one, two = AssertionKeys(parse_private_keys(text)), AssertionKeys(parse_private_keys(text))
    assert one.signing.kid == two.signing.kid == expected
    rsa_key = rsa.generate_private_key(65537, 2048)
    n = rsa_key.public_key().public_numbers().n
    expected_rsa = thumbprint({"e": "AQAB", "kty": "RSA", "n": b64(n, 256)})
    assert AssertionKeys([rsa_key]).signing.kid == expected_rsa


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (rsa.generate_private_key(65537, 2048), "RS256"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
)
# joserfc warns on verifying EdDSA too (RFC 9864 names it Ed25519); the spec keeps EdDSA.
@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_each_key_type_signs_with_its_algorithm_and_verifies_against_the_jwks(key: object, alg: str) -> None:
    keys = AssertionKeys([key])  # type: ignore[list-item]
    clock = Clock()
    token = signer(keys, clock).bearer(session())
    published = KeySet.import_key_set(keys.jwks())  # type: ignore[arg-type]
    decoded = jwt.decode(token, published, algorithms=[alg])
    assert decoded.header == {"alg": alg, "kid": keys.signing.kid, "typ": "JWT"}
    claims = decoded.claims
    assert (
        claims["iat"] == int(clock.now) and claims["exp"] == claims["iat"] + LIFETIME <= claims["iat"] + 120
    )
    assert (claims["iss"], claims["aud"], claims["sub"], claims["sid"]) == ("https://app.example", "https://orders",
                                                                         "u-1", "sid-k1")  # fmt: skip
    assert (claims["preferred_username"], claims["name"], claims["email"], claims["login"]) == (
        "alice@example.com", "Alice", "a@example.com", "api")  # fmt: skip
    assert "TENANT-TOKEN" not in token and "TENANT-TOKEN" not in json.dumps(claims)
    assert all("d" not in published_key for published_key in keys.jwks()["keys"])


def test_an_assertion_is_reused_while_it_has_over_30_seconds_then_signed_again() -> None:
    keys, clock = AssertionKeys([ec.generate_private_key(ec.SECP256R1())]), Clock()
    sign = signer(keys, clock)
    first = sign.bearer(session())
    clock.now += LIFETIME - REUSE_MARGIN - 1  # 31 s left
    assert sign.bearer(session()) == first
    assert sign.bearer(session("k2")) != first  # another session: its own
    clock.now += 1  # 30 s left: no longer reused
    fresh = sign.bearer(session())
    assert fresh != first
    assert sign.signed == 3


def test_at_most_one_signature_per_session_and_upstream_per_90_seconds() -> None:
    keys, clock = AssertionKeys([ec.generate_private_key(ec.SECP256R1())]), Clock()
    sign = signer(keys, clock)
    for _ in range(600):  # ten minutes of a call a second
        sign.bearer(session())
        clock.now += 1
    assert sign.signed <= 600 // (LIFETIME - REUSE_MARGIN) + 1


def test_rotation_the_first_key_signs_all_verify_old_assertions_until_they_expire() -> None:
    old, new = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    clock = Clock()
    before = AssertionKeys(parse_private_keys(pem(old)))
    old_token = signer(before, clock).bearer(session())
    after = AssertionKeys(parse_private_keys(pem(new) + pem(old)))
    new_token = signer(after, clock).bearer(session())
    published = KeySet.import_key_set(after.jwks())  # type: ignore[arg-type]
    assert [k["kid"] for k in after.jwks()["keys"]] == [after.keys[0].kid, before.signing.kid]
    assert jwt.decode(new_token, published, algorithms=["ES256"]).header["kid"] == after.keys[0].kid
    still = jwt.decode(old_token, published, algorithms=["ES256"])
    assert still.header["kid"] == before.signing.kid
    JWTClaimsRegistry(now=lambda: int(clock.now) + LIFETIME - 1, leeway=0).validate(still.claims)
    with pytest.raises(ExpiredTokenError):
        JWTClaimsRegistry(now=lambda: int(clock.now) + LIFETIME + 1, leeway=0).validate(still.claims)


def test_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.upstreams.assertions.MAX_CACHED", 10)
    keys, clock = AssertionKeys([ec.generate_private_key(ec.SECP256R1())]), Clock()
    sign = signer(keys, clock)
    for index in range(25):
        sign.bearer(session(f"k{index}"))
    assert len(sign._cache) <= 10
