"""The BFF's own cookies: which ones there are, their flags, and their exact ``Set-Cookie`` headers.

Example::

    response.raw_headers.append(session_cookie(settings, ticket, max_age=3600))   # /auth (routes/)
    await send_error(send, SessionExpired(), [clear_session_cookie(settings)])     # /api (proxy/)

Both entry points take the raw header from here, so a cookie is spelled the same wherever it is set or
cleared (tests compare its attributes exactly). Three cookies, all HttpOnly (no page script reads them),
``Path=/`` and no ``Domain`` (the ``__Host-`` prefix, when Secure, requires both):

- the session cookie (``settings.cookie_name``): the session's ticket, ``SameSite=Strict``;
- the login cookie (``settings.login_cookie_name``): an API login in progress, ``SameSite=Strict``;
- the OAuth login cookie (``settings.oauth_cookie_name``): an OAuth login in progress, ``SameSite=Lax``.
"""

from __future__ import annotations

import http.cookies
from typing import Literal

from app.errors import Header
from app.settings import Settings

#: A fixed date in the past: "now" would make two otherwise identical answers differ by the second they
#: were sent in (a failed login for an unknown user must be byte for byte the one for a wrong password).
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


def session_cookie(settings: Settings, ticket: str, max_age: int) -> Header:
    """The session cookie carrying ``ticket`` for ``max_age`` seconds."""
    return _strict(settings, settings.cookie_name, ticket, max_age)


def clear_session_cookie(settings: Settings) -> Header:
    """The header that removes the session cookie (the same bytes in any second)."""
    return _strict_cleared(settings, settings.cookie_name)


def login_cookie(settings: Settings, handle: str, max_age: int) -> Header:
    """The login cookie carrying the pre-auth ``handle`` of an API login in progress."""
    return _strict(settings, settings.login_cookie_name, handle, max_age)


def clear_login_cookie(settings: Settings) -> Header:
    return _strict_cleared(settings, settings.login_cookie_name)


def oauth_login_cookie(settings: Settings, value: str, max_age: int) -> Header:
    """The OAuth login cookie carrying ``value``, the sealed state of an OAuth login in progress."""
    # SameSite=Lax, not Strict: the tenant's redirect back to the callback is a cross-site navigation, and a
    # Strict cookie would not come with it. Lax still keeps it off cross-site subrequests and POSTs.
    return _header(settings, settings.oauth_cookie_name, value, max_age, None if max_age else _EXPIRED, "lax")


def clear_oauth_login_cookie(settings: Settings) -> Header:
    return oauth_login_cookie(settings, "", 0)


def _strict(settings: Settings, name: str, value: str, max_age: int) -> Header:
    # HttpOnly keeps it from page scripts; SameSite=Strict keeps it off cross-site requests.
    return _header(settings, name, value, max_age, None, "strict")


def _strict_cleared(settings: Settings, name: str) -> Header:
    return _header(settings, name, "", 0, _EXPIRED, "strict")


def _header(
    settings: Settings,
    name: str,
    value: str,
    max_age: int,
    expires: str | None,
    samesite: Literal["strict", "lax"],
) -> Header:
    """One HttpOnly, ``Path=/`` cookie, spelled as Starlette's ``Response.set_cookie`` spells it."""
    cookie: http.cookies.BaseCookie[str] = http.cookies.SimpleCookie()
    cookie[name] = value
    morsel = cookie[name]
    morsel["max-age"] = max_age
    if expires is not None:
        morsel["expires"] = expires
    morsel["path"] = "/"
    if settings.bff_cookie_secure:
        morsel["secure"] = True
    morsel["httponly"] = True
    morsel["samesite"] = samesite
    return b"set-cookie", cookie.output(header="").strip().encode("latin-1")
