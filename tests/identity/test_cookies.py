"""Tenant cookies: read from Set-Cookie by hand, kept per login, never in the shared jar."""

from __future__ import annotations

from http.cookiejar import Cookie
from urllib.request import Request

import httpx
from hypothesis import given
from hypothesis import strategies as st

from app.identity.cookies import cookie_header, empty_jar, merge_cookies, read_set_cookies


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(
        0,
        name,
        value,
        None,
        False,
        "tenant.example",
        True,
        False,
        "/",
        True,
        False,
        None,
        False,
        None,
        None,
        {},
    )


def test_the_jar_refuses_to_store_or_return_cookies() -> None:
    jar = empty_jar()
    request = Request("https://tenant.example/")
    assert jar._policy.set_ok(_cookie("CCSID", "x"), request) is False
    assert jar._policy.return_ok(_cookie("CCSID", "x"), request) is False


def test_httpx_keeps_nothing_in_the_refusing_jar() -> None:
    # Outside httpx a plain client would store this cookie; with our jar it must not.
    request = httpx.Request("GET", "https://tenant.example/")
    response = httpx.Response(200, headers=[("set-cookie", "CCSID=abc; Path=/")], request=request)
    cookies = httpx.Cookies(empty_jar())
    cookies.extract_cookies(response)
    assert len(cookies.jar) == 0
    plain = httpx.Cookies()
    plain.extract_cookies(response)
    assert len(plain.jar) == 1


def test_set_cookie_headers_are_read() -> None:
    headers = [
        ".ASPXAUTH=0A1B2C; path=/; secure; HttpOnly; SameSite=None",
        'CCSID="quoted-value"; Path=/',
        "SimLB=abc123",
        "gone=; Max-Age=0",
        "old=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "later=y; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
        "no-equals-sign",
        "bad name=x",
        "bad=semi\x00colon",
    ]
    assert read_set_cookies(headers) == {
        ".ASPXAUTH": "0A1B2C",
        "CCSID": "quoted-value",
        "SimLB": "abc123",
        "gone": None,
        "old": None,
        "later": "y",
    }


def test_merge_applies_updates_and_deletions_and_drops_the_token() -> None:
    merged = merge_cookies({"SimLB": "a", "gone": "x"}, {"gone": None, "CCSID": "c", ".ASPXAUTH": "token"})
    assert merged == {"SimLB": "a", "CCSID": "c"}


def test_cookie_header() -> None:
    assert cookie_header({}) is None
    assert cookie_header({"SimLB": "a", "CCSID": "c"}) == "SimLB=a; CCSID=c"
    assert cookie_header({"bad": "a;b", "ok": "1"}) == "ok=1"


@given(st.lists(st.text(max_size=40), max_size=5))
def test_any_set_cookie_text_yields_only_sendable_cookies(headers: list[str]) -> None:
    cookies = merge_cookies({}, read_set_cookies(headers))
    header = cookie_header(cookies)
    if header is not None:
        assert "\r" not in header and "\n" not in header
        assert header.count("=") >= len(cookies)
