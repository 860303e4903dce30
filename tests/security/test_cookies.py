"""The BFF's cookies: exact flags, and the clearing header never depends on the clock."""

from __future__ import annotations

import time

import pytest
from fastapi.responses import Response

from app.security.cookies import (
    clear_login_cookie,
    clear_oauth_login_cookie,
    clear_session_cookie,
    login_cookie,
    oauth_login_cookie,
    session_cookie,
)
from app.settings import Settings


def _cleared() -> str:
    name, value = clear_session_cookie(Settings(_env_file=None))  # type: ignore[call-arg]
    assert name == b"set-cookie"
    return value.decode("latin-1")


def test_clearing_the_cookie_is_the_same_bytes_in_any_second() -> None:
    first = _cleared()
    time.sleep(1.0 - time.time() % 1.0 + 0.01)  # into the next second
    assert _cleared() == first
    assert first.startswith("__Host-bff=")
    assert "Max-Age=0" in first and "expires=Thu, 01 Jan 1970 00:00:00 GMT" in first


@pytest.mark.parametrize("secure", [True, False])
def test_each_cookie_is_spelled_as_starlette_spells_it(secure: bool) -> None:
    # The headers the /auth routes set with Response.set_cookie before the policy had its own module.
    settings = Settings(_env_file=None, bff_cookie_secure=secure)  # type: ignore[call-arg]
    expired = "Thu, 01 Jan 1970 00:00:00 GMT"
    cases = [
        (session_cookie(settings, "t.i-c_k", 3600), (settings.cookie_name, "t.i-c_k", 3600, None, "strict")),
        (clear_session_cookie(settings), (settings.cookie_name, "", 0, expired, "strict")),
        (login_cookie(settings, "h", 300), (settings.login_cookie_name, "h", 300, None, "strict")),
        (clear_login_cookie(settings), (settings.login_cookie_name, "", 0, expired, "strict")),
        (oauth_login_cookie(settings, "s", 120), (settings.oauth_cookie_name, "s", 120, None, "lax")),
        (clear_oauth_login_cookie(settings), (settings.oauth_cookie_name, "", 0, expired, "lax")),
    ]
    for header, (name, value, max_age, expires, samesite) in cases:
        response = Response()
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            expires=expires,
            path="/",
            secure=secure,
            httponly=True,
            samesite=samesite,
        )
        assert [header] == [h for h in response.raw_headers if h[0] == b"set-cookie"]
