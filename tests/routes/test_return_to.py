"""return_to on a listed origin: held to the local path's rules and more (api.md §2, the OAuth login row)."""

from __future__ import annotations

import pytest

from app.errors import InvalidRequest
from app.routes.return_to import checked_return_to, login_error_url

ORIGINS = ["https://app.example.com", "http://127.0.0.1:5173"]

ACCEPTED = [
    "https://app.example.com",
    "https://app.example.com/",
    "https://app.example.com/home?tab=2#top",
    "https://app.example.com:443/home",
    "https://APP.example.com/home",
    "/local",
]

REFUSED = [
    "https://evil.example/",
    "https://app.example.com.evil.example/",
    "https://app.example.com:444/",
    "https://user@app.example.com/",
    "https://user:pass@app.example.com/",
    "https://evil.example@app.example.com/",
    "https://app.example.com@evil.example/",
    "https://app.example.com\\@evil.example/",
    "https://app.example.com\\evil.example/",
    "https://app.example.com/a b",
    "https://app.example.com/\t/x",
    "https://app.example.com/\n",
    "https://app.example.com\x00/",
    "https://app.example.com/\x7f",
    " https://app.example.com/",
    "https:app.example.com/",
    "https:/app.example.com/",
    "https:///app.example.com/",
    "HTTPS://app.example.com/",
    "http://app.example.com/",  # http:// only while cookies are not Secure
    "https://app.example.com/" + "a" * 2048,
    "javascript://app.example.com/%0aalert(1)",
    "https://[::1]/",
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_a_url_on_a_listed_origin_is_accepted(value: str) -> None:
    assert checked_return_to(value, origins=ORIGINS) == value


@pytest.mark.parametrize("value", REFUSED)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(InvalidRequest):
        checked_return_to(value, origins=ORIGINS)


def test_http_is_accepted_only_while_cookies_are_not_secure() -> None:
    url = "http://127.0.0.1:5173/after"
    with pytest.raises(InvalidRequest):
        checked_return_to(url, origins=ORIGINS)
    assert checked_return_to(url, origins=ORIGINS, allow_http=True) == url
    with pytest.raises(InvalidRequest):
        checked_return_to("http://127.0.0.1:5174/after", origins=ORIGINS, allow_http=True)


def test_without_listed_origins_only_local_paths_pass() -> None:
    assert checked_return_to(None, origins=[]) == "/"
    with pytest.raises(InvalidRequest):
        checked_return_to("https://app.example.com/", origins=[])


def test_a_failure_lands_on_the_return_to_origin() -> None:
    assert login_error_url("/apps", "access_denied") == "/?login_error=access_denied"
    assert login_error_url("https://app.example.com:443/x?y#z", "login_failed") == (
        "https://app.example.com/?login_error=login_failed"
    )
    assert login_error_url("http://127.0.0.1:5173/after", "state_mismatch") == (
        "http://127.0.0.1:5173/?login_error=state_mismatch"
    )
