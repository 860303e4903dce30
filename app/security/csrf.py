"""CSRF header and Origin checks: a pure ASGI middleware for ``/auth`` and ``/api``.

Example::

    check = CsrfOriginCheck({"https://app.example"})
    check.refusal(scope)  # None, OriginRefused() (foreign Origin) or CsrfRequired() (no ``X-CSRF: 1``)
    app = CsrfOriginMiddleware(app, allowed_origins={"https://app.example"})  # the check, for guarded paths

A header that appears more than once is ambiguous and never passes a check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import BFFError, CsrfRequired, OriginRefused, send_error

#: Methods that need neither the CSRF header (they must not change state).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Path prefixes the middleware guards.
GUARDED_PREFIXES = ("/auth", "/api")

_DEFAULT_PORTS = {"http": "80", "https": "443"}
# scheme://host[:port], already lower-cased; host is a DNS name, IPv4 or a bracketed IPv6 literal.
_ORIGIN = re.compile(r"(https?)://([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::([0-9]{1,5}))?")


def csrf_ok(method: str, x_csrf: str | None) -> bool:
    """True when ``method`` is safe or the ``X-CSRF`` value is exactly ``1``."""
    return method in SAFE_METHODS or x_csrf == "1"


def normalise_origin(value: str) -> str | None:
    """``scheme://host[:port]`` lower-cased, default port and trailing ``/`` dropped; else None."""
    text = value.strip().lower()
    if text.endswith("/"):
        text = text[:-1]
    match = _ORIGIN.fullmatch(text)
    if match is None:
        return None
    scheme, host, port = match.groups()
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    if not 0 < int(port) < 65536:
        return None
    return f"{scheme}://{host}:{int(port)}"


@lru_cache(maxsize=32)
def normalise_origins(allowed: frozenset[str]) -> frozenset[str]:
    """The configured origins as :func:`normalise_origin` gives them (cached: configs are few and fixed)."""
    return frozenset(o for o in map(normalise_origin, allowed) if o is not None)


def origin_ok(origin: str | None, *, scheme: str, host: str | None, allowed: frozenset[str]) -> bool:
    """True when there is no ``Origin``, or it is the BFF's own (``scheme://host``) or one of ``allowed``."""
    if origin is None:
        return True
    # "null" (sandboxed frames, file:, some redirects) names no one, so it cannot be trusted.
    seen = normalise_origin(origin)
    if seen is None:
        return False
    if host is not None and seen == normalise_origin(f"{scheme}://{host}"):
        return True
    return seen in normalise_origins(allowed)


# The three headers the guard reads, found in one pass over the request's headers.
_WATCHED = {b"origin": 0, b"host": 1, b"x-csrf": 2}


def _watched(headers: Iterable[tuple[bytes, bytes]]) -> list[str | None]:
    """[Origin, Host, X-CSRF] of ASGI ``headers``: None when absent, "" when repeated (ambiguous)."""
    found: list[str | None] = [None, None, None]
    for name, value in headers:
        slot = _WATCHED.get(name.lower())
        if slot is not None:
            found[slot] = "" if found[slot] is not None else value.decode("latin-1")
    return found


def guarded(path: str) -> bool:
    """True for paths under ``/auth`` or ``/api`` (case-insensitive, extra leading slashes ignored)."""
    # Broader than the router (which is case-sensitive) on purpose: guarding too much costs nothing here.
    text = "/" + path.lstrip("/").lower()
    return any(text == p or text.startswith(p + "/") for p in GUARDED_PREFIXES)


class CsrfOriginCheck:
    """The CSRF header and Origin check: ``CsrfOriginCheck({"https://app.example"}).refusal(scope)``.

    The proxy runs it as one of its guards for /api (app/main.py); the middleware below, for /auth.
    """

    def __init__(self, allowed_origins: Iterable[str] = ()) -> None:
        self.allowed = normalise_origins(frozenset(allowed_origins))

    def refusal(self, scope: Scope) -> BFFError | None:
        """The error a guarded request earns (foreign Origin, missing X-CSRF), or None to let it through."""
        origin, host, x_csrf = _watched(scope["headers"])
        # Origin first: a foreign page is the more telling refusal when both checks fail.
        if not origin_ok(origin, scheme=scope.get("scheme", "http"), host=host, allowed=self.allowed):
            return OriginRefused()
        if not csrf_ok(scope["method"], x_csrf):
            return CsrfRequired()
        return None


class CsrfOriginMiddleware:
    """Pure ASGI guard: ``CsrfOriginMiddleware(app, allowed_origins=frozenset({"https://app.example"}))``."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.refusal = CsrfOriginCheck(allowed_origins).refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        error = self.refusal(scope)
        if error is None:
            await self.app(scope, receive, send)
            return
        await send_error(send, error)
