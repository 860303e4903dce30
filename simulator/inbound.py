"""Reading what a client sent: JSON bodies, cookies (every copy of a name), the Host it addressed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request


async def json_object(request: Request) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (the caller answers with a failure)."""
    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def cookie_values(request: Request, name: str) -> list[str]:
    """Every value sent for cookie ``name``: a jar that mixes logins sends the name twice."""
    values = []
    for header in request.headers.getlist("cookie"):
        for pair in header.split(";"):
            key, sep, value = pair.strip().partition("=")
            if sep and key == name:
                values.append(value.strip().strip('"'))
    return values


def host_of(request: Request) -> str:
    """The host:port the client addressed, as the Host header says (what a pod redirect is decided on)."""
    return request.headers.get("host", "")


def is_secure(request: Request) -> bool:
    return request.url.scheme == "https"


def bearer_of(request: Request) -> str | None:
    """The token of ``Authorization: Bearer``, else of the ``.ASPXAUTH`` cookie."""
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    cookies = cookie_values(request, ".ASPXAUTH")
    return cookies[-1] if cookies else None


def merge_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as one dict with lower-case names; repeated headers are joined with ", "."""
    merged: dict[str, str] = {}
    for name, value in pairs:
        name = name.lower()
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged
