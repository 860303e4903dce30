"""Tenant cookies kept per login, never in the shared HTTP client.

httpx keeps one cookie jar per client; with one client shared by every user, a tenant cookie set for one
login would ride along on another user's calls. So the client's jar refuses everything
(:class:`RefuseAllCookies`), and each login carries its own cookies in its context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from urllib.request import Request

#: The duration-based bearer token's cookie.
TOKEN_COOKIE = ".ASPXAUTH"  # noqa: S105 - a cookie name, not a secret

# RFC 6265 token characters for names, cookie-octets for values: anything else could not be sent back safely.
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")


class RefuseAllCookies(DefaultCookiePolicy):
    """A cookie policy that neither stores nor returns any cookie, e.g. ``CookieJar(RefuseAllCookies())``."""

    def set_ok(self, cookie: Cookie, request: Request) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Request) -> bool:
        return False


def empty_jar() -> CookieJar:
    """A cookie jar that stays empty whatever the responses say."""
    return CookieJar(policy=RefuseAllCookies())


def read_set_cookies(headers: Iterable[str]) -> dict[str, str | None]:
    """``Set-Cookie`` header values as ``{name: value}``; ``None`` means the tenant deleted that cookie."""
    cookies: dict[str, str | None] = {}
    for header in headers:
        pair, _, attributes = header.partition(";")
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if not sep or not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            continue
        cookies[name] = None if not value or _expires_now(attributes) else value
    return cookies


def _expires_now(attributes: str) -> bool:
    for attribute in attributes.split(";"):
        key, _, value = attribute.partition("=")
        key, value = key.strip().lower(), value.strip()
        if key == "max-age" and value.lstrip("-").isdigit() and int(value) <= 0:
            return True
        if key == "expires" and _in_the_past(value):
            return True
    return False


def _in_the_past(http_date: str) -> bool:
    try:
        when = parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return False
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when <= datetime.now(UTC)


def merge_cookies(current: Mapping[str, str], updates: Mapping[str, str | None]) -> dict[str, str]:
    """``current`` with ``updates`` applied (``None`` removes), without the bearer token cookie."""
    merged = dict(current)
    for name, value in updates.items():
        if value is None or name == TOKEN_COOKIE:
            # The token is returned to the caller as LoggedIn.token, never kept in the login's state.
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


def cookie_header(cookies: Mapping[str, str]) -> str | None:
    """The ``Cookie`` request header for ``cookies``, or None when there are none."""
    pairs = [f"{n}={v}" for n, v in cookies.items() if _NAME.fullmatch(n) and _VALUE.fullmatch(v)]
    return "; ".join(pairs) or None
