"""RFC 6238 time-based one-time passwords (SHA1, 30 s steps, 6 digits), as authenticator apps compute them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

STEP = 30
DIGITS = 6


def decode_secret(secret: str) -> bytes:
    """The key bytes of a base32 secret as apps display it (blanks, lower case, no padding allowed)."""
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP value of ``counter``."""
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(code % 10**digits).zfill(digits)


def totp(secret: str, at: float, digits: int = DIGITS) -> str:
    """The code an authenticator app shows at time ``at`` (seconds since the epoch)."""
    return hotp(decode_secret(secret), int(at // STEP), digits)


def verify(secret: str, code: str, at: float, window: int = 1) -> bool:
    """True when ``code`` is the TOTP of ``at`` or of up to ``window`` steps either side."""
    key = decode_secret(secret)
    counter = int(at // STEP)
    counters = (counter + delta for delta in range(-window, window + 1) if counter + delta >= 0)
    return any(hmac.compare_digest(hotp(key, c), code) for c in counters)
