"""Reading the browser's request off the ASGI scope: tenant path, session cookie, Content-Length, query.

Example::

    tenant_raw_path(scope)                 # b"/UPRest/GetUPData" for raw_path b"/api/UPRest/GetUPData"
    cookie_value(scope["headers"], b"bff")  # the cookie's value, or None

Everything works on the raw bytes the server received, never on decoded or re-spelled forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.types import Scope

from app.errors import InvalidRequest

#: The prefix the proxy serves; the tenant path is what follows it.
API_PREFIX = "/api"
_RAW_PREFIX = b"/api"
# Printable ASCII without space and "#": what a request line may carry as a query and what the tenant gets
# byte for byte. Anything else (raw UTF-8, controls) is refused rather than re-encoded.
_QUERY = re.compile(rb"[!\"$-~]*")
_DIGITS = re.compile(rb"[0-9]{1,18}")


def is_api_path(path: str) -> bool:
    """True for ``/api`` and everything under ``/api/`` (the decoded path, as the router would see it)."""
    return path.startswith("/api/") or path == API_PREFIX


def tenant_raw_path(scope: Scope, prefix: bytes = _RAW_PREFIX) -> bytes | None:
    """The raw path after ``prefix`` (``/api``: e.g. ``b"/Security/Whoami"``), or None when the raw bytes do
    not start with it (an upstream's prefix is passed in the same way).

    ``raw_path`` is what was received; a client that spelled the prefix differently (``/%61pi/...``) is
    refused rather than trusted. Some servers leave the query on ``raw_path``: it is cut off here.
    """
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        return None  # no raw bytes to decide on: deny rather than guess from the decoded path
    raw = raw.partition(b"?")[0]
    if not raw.startswith(prefix):
        return None
    rest = raw[len(prefix) :]
    if rest and not rest.startswith(b"/"):
        return None
    return rest


def valid_query(query: bytes) -> bool:
    """True when the query string can go to the tenant exactly as received."""
    return _QUERY.fullmatch(query) is not None


def cookie_value(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The value of cookie ``name`` in the Cookie header(s); the last one wins, as in the /auth routes."""
    found: bytes | None = None
    for key, value in headers:
        if key != b"cookie" or name not in value:
            continue
        for part in value.split(b";"):
            key_part, sep, cookie = part.partition(b"=")
            if sep and key_part.strip() == name:
                found = cookie.strip()
    return None if found is None else found.decode("latin-1")


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The declared body size, None without one; InvalidRequest for a malformed or contradictory one."""
    length: int | None = None
    for key, value in headers:
        if key != b"content-length":
            continue
        if not _DIGITS.fullmatch(value.strip()):
            raise InvalidRequest()
        size = int(value)
        if length is not None and size != length:
            raise InvalidRequest()
        length = size
    return length
