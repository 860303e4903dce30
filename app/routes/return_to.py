"""Where an OAuth login ends: a local path, or a URL on one of ``BFF_ALLOWED_ORIGINS`` (api.md §2).

Example::

    target = checked_return_to("https://app.example.com/home", origins={"https://app.example.com"})
    login_error_url(target, "access_denied")  # "https://app.example.com/?login_error=access_denied"

An absolute ``return_to`` lets an SPA on another origin of the same site get its user back after the
tenant's sign-in page. It is held to the local path's rules and more: ``https://`` (``http://`` only while
``BFF_COOKIE_SECURE=false``), an origin compared exactly (scheme, host, port) with a listed one, no userinfo,
and no backslash, control character or whitespace anywhere (parsers disagree on such URLs; browsers do not).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.errors import InvalidRequest
from app.login.oauth import local_return_to
from app.security.csrf import normalise_origin, normalise_origins

# scheme://authority, then the rest ("" or starting with /, ? or #). The authority may not hold "@"
# (userinfo), "\\", "/", "?" or "#"; what it may hold is judged again by normalise_origin.
_ABSOLUTE = re.compile(r"(https?)://([^/?#@\\]*)([/?#].*)?", re.DOTALL)
_FORBIDDEN = re.compile(r"[\x00-\x20\x7f\\]")
_MAX_RETURN_TO = 2048


def checked_return_to(value: str | None, *, origins: Iterable[str], allow_http: bool = False) -> str:
    """``value`` when a local path or a URL on a listed origin, ``/`` when absent; else InvalidRequest."""
    if value is None or not value.startswith(("https:", "http:")):
        return local_return_to(value)
    match = _ABSOLUTE.fullmatch(value)
    if len(value) > _MAX_RETURN_TO or match is None or _FORBIDDEN.search(value) is not None:
        raise InvalidRequest("return_to is not a local path or a URL on an allowed origin")
    scheme, authority, _ = match.groups()
    if scheme == "http" and not allow_http:
        raise InvalidRequest("return_to is not a local path or a URL on an allowed origin")
    origin = normalise_origin(f"{scheme}://{authority}")
    if origin is None or origin not in normalise_origins(frozenset(origins)):
        raise InvalidRequest("return_to is not a local path or a URL on an allowed origin")
    return value


def login_error_url(return_to: str, code: str) -> str:
    """The failed login's landing page, ``/?login_error=<code>``, on ``return_to``'s origin."""
    match = _ABSOLUTE.fullmatch(return_to)
    if match is None:
        return f"/?login_error={code}"
    scheme, authority, _ = match.groups()
    origin = normalise_origin(f"{scheme}://{authority}") or ""
    return f"{origin}/?login_error={code}"
