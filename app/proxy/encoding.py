"""A compressed tenant answer, decoded for the token-rejection check alone (the browser gets it as sent).

Example::

    decoded(b"".join(chunks), b"gzip")  # the JSON inside (at most DECODED_LIMIT bytes), None if unreadable

The proxy offers the tenant only gzip and deflate (``app.security.headers.DECODABLE_CODINGS``), so a
rejection can always be read; the output is bounded, so a small answer cannot inflate into a large one here.
"""

from __future__ import annotations

import zlib

#: Bytes of decoded answer the check looks at: a token rejection is a few dozen bytes of JSON, and this is
#: the window an uncompressed answer is checked in too.
DECODED_LIMIT = 64 * 1024
# 32 + 15: zlib's automatic choice between a gzip and a zlib header, with the largest window.
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


def decoded(body: bytes, content_encoding: bytes) -> bytes | None:
    """``body`` with every coding of ``content_encoding`` undone, or None when one is unknown or broken.

    An answer larger than DECODED_LIMIT once decoded is cut there (it is JSON that no longer parses: not a
    rejection, as a larger plain answer is not either).
    """
    codings = [c.strip().lower() for c in content_encoding.split(b",") if c.strip()]
    # Codings are listed in the order they were applied: undo them from the last.
    for coding in reversed(codings):
        if coding == b"identity":
            continue
        if coding in (b"gzip", b"x-gzip", b"deflate"):
            body = _inflate(body, coding == b"deflate")
        else:
            return None
        if not body:
            return None
    return body


def _inflate(body: bytes, maybe_raw: bool) -> bytes:
    try:
        return zlib.decompressobj(_GZIP_OR_ZLIB).decompress(body, DECODED_LIMIT + 1)
    except zlib.error:
        if not maybe_raw:
            return b""
    # "deflate" is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some servers send it raw.
    try:
        return zlib.decompressobj(_RAW_DEFLATE).decompress(body, DECODED_LIMIT + 1)
    except zlib.error:
        return b""
