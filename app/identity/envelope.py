"""The tenant's JSON envelope, ``{"success": bool, "Result": {...} | null, ...}``, read strictly.

Anything else (HTML, a 404 page, truncated or non-JSON bodies, wrong types) is a
:class:`~app.errors.TenantProtocolError`, and nothing else escapes this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.errors import TenantProtocolError

#: A login reply larger than this is not the tenant's protocol (packages are a few kB).
MAX_ENVELOPE_BYTES = 1024 * 1024
# Cheap filter before parsing JSON: only a body whose "success" key is followed by false can be a token
# rejection. The key is found with bytes.find (a skipping search; CyberArk writes it first) and the rest is
# matched there: a regex search would test every byte of the answer.
_SUCCESS_KEY = b'"success"'
_IS_FALSE = re.compile(rb"\s*:\s*false")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed reply, e.g. ``Envelope(success=True, result={"Summary": "LoginSuccess", ...})``."""

    success: bool
    # The tenant's Result may hold a SessionId or a one-time token: keep it out of reprs and logs.
    result: dict[str, Any] | None = field(repr=False)


def parse_envelope(status: int, body: bytes) -> Envelope:
    """Read one reply of a JSON endpoint; raise :class:`TenantProtocolError` unless it is an envelope."""
    if status != 200:
        # The tenant answers 200 even for failed logins; anything else (a 404 HTML page) is not its protocol.
        raise TenantProtocolError(f"tenant answered HTTP {status}")
    if len(body) > MAX_ENVELOPE_BYTES:
        raise TenantProtocolError("tenant reply is too large")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are both ValueErrors; deep nesting raises RecursionError.
        raise TenantProtocolError("tenant reply is not JSON") from exc
    return envelope_from_json(data)


def envelope_from_json(data: Any) -> Envelope:
    """Check the shape of an already decoded envelope."""
    if not isinstance(data, dict):
        raise TenantProtocolError("tenant reply is not a JSON object")
    success = data.get("success")
    if not isinstance(success, bool):
        raise TenantProtocolError("tenant reply has no boolean 'success'")
    result = data.get("Result")
    if result is not None and not isinstance(result, dict):
        # Bearer endpoints may return other Result shapes; login endpoints never do. Callers that accept
        # a non-object Result read the raw JSON themselves.
        raise TenantProtocolError("tenant reply has a 'Result' that is not an object")
    return Envelope(success=success, result=result)


def is_token_rejection(body: bytes) -> bool:
    """True when a bearer call's body says the token is not valid: ``success: false`` with no ``Result``."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("success") is False and data.get("Result") is None


def rejects_token(chunks: list[bytes]) -> bool:
    """:func:`is_token_rejection` for an answer held in ``chunks``, parsing only a body that could be one."""
    if not chunks:
        return False
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    at = body.find(_SUCCESS_KEY)
    while at != -1:
        if _IS_FALSE.match(body, at + len(_SUCCESS_KEY)):
            return is_token_rejection(body)
        at = body.find(_SUCCESS_KEY, at + len(_SUCCESS_KEY))
    return False
