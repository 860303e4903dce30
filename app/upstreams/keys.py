"""``BFF_ASSERTION_KEYS``: a PEM bundle of private keys, parsed and checked (a pure parser).

Example::

    keys = parse_private_keys(open("assertion-keys.pem").read())
    algorithm(keys[0])   # "ES256" for a P-256 key, "RS256" for RSA, "EdDSA" for Ed25519

Blocks follow one another as a key file holds them; the first key signs, all are published.
"""

from __future__ import annotations

import re

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

#: RSA keys shorter than this are refused (RFC 7518 §3.3 asks for 2048 bits or more).
MIN_RSA_BITS = 2048
_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)


def parse_private_keys(text: str) -> tuple[PrivateKey, ...]:
    """Every private key of the PEM bundle ``text``; ValueError (one line, no key material) otherwise."""
    blocks = [match.group(0) for match in _BLOCK.finditer(text)]
    if not blocks:
        raise ValueError("no PEM block found; expected -----BEGIN PRIVATE KEY----- blocks")
    keys: list[PrivateKey] = []
    for number, block in enumerate(blocks, start=1):
        try:
            key = load_pem_private_key(block.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            kind = "encrypted (give it unencrypted)" if isinstance(exc, TypeError) else "not a private key"
            raise ValueError(f"PEM block {number} is {kind}") from None
        keys.append(_supported(number, key))
    return tuple(keys)


def _supported(number: int, key: object) -> PrivateKey:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"PEM block {number}: EC keys must be on P-256 (ES256), not {key.curve.name}")
        return key
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"PEM block {number}: RSA keys need at least {MIN_RSA_BITS} bits")
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise ValueError(f"PEM block {number}: use a P-256, RSA or Ed25519 key, not {type(key).__name__}")


def algorithm(key: PrivateKey) -> str:
    """The JWS ``alg`` a key signs with: ES256, RS256 or EdDSA."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    return "EdDSA"
