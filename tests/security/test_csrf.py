"""CSRF header and Origin checks: the guard's ``refusal`` over ASGI scopes, and its helpers."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from starlette.types import Receive, Scope, Send

from app.errors import BFFError, CsrfRequired, OriginRefused
from app.security.csrf import CsrfOriginMiddleware, guarded, normalise_origin, normalise_origins


async def _never(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("refusal() never calls the wrapped app")


def _refusal(
    method: str,
    headers: Iterable[tuple[bytes, bytes]],
    *,
    scheme: str = "https",
    host: str | None = None,
    allowed: frozenset[str] = frozenset(),
) -> BFFError | None:
    """What the middleware answers a request with these headers (plus ``Host`` when given)."""
    pairs = list(headers) + ([] if host is None else [(b"host", host.encode("latin-1"))])
    scope = {"type": "http", "method": method, "scheme": scheme, "path": "/auth/x", "headers": pairs}
    return CsrfOriginMiddleware(_never, allowed_origins=allowed).refusal(scope)


def check_csrf(method: str, headers: Iterable[tuple[bytes, bytes]]) -> None:
    error = _refusal(method, headers)
    if error is not None:
        raise error


def check_origin(
    headers: Iterable[tuple[bytes, bytes]], *, scheme: str, host: str | None, allowed: frozenset[str]
) -> None:
    # With X-CSRF present only the Origin check can refuse.
    error = _refusal("POST", [*headers, (b"x-csrf", b"1")], scheme=scheme, host=host, allowed=allowed)
    if error is not None:
        raise error


# CSRF header ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_need_no_csrf_header(method: str) -> None:
    check_csrf(method, [])


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "TRACE", "get", "BREW"])
def test_other_methods_without_the_header_are_refused(method: str) -> None:
    with pytest.raises(CsrfRequired):
        check_csrf(method, [])


def test_csrf_header_exactly_one_passes_in_any_name_case() -> None:
    check_csrf("POST", [(b"x-csrf", b"1")])
    check_csrf("POST", [(b"X-CSRF", b"1")])
    check_csrf("DELETE", [(b"X-Csrf", b"1")])


@pytest.mark.parametrize("value", [b"", b"0", b"true", b"yes", b"11", b" 1", b"1 ", b"1,1", b"\x001"])
def test_csrf_header_with_any_other_value_is_refused(value: bytes) -> None:
    with pytest.raises(CsrfRequired):
        check_csrf("POST", [(b"x-csrf", value)])


def test_a_repeated_csrf_header_is_refused() -> None:
    with pytest.raises(CsrfRequired):
        check_csrf("POST", [(b"x-csrf", b"1"), (b"x-csrf", b"1")])


def test_a_look_alike_header_name_does_not_count() -> None:
    with pytest.raises(CsrfRequired):
        check_csrf("POST", [(b"x-csrf-token", b"1"), (b"csrf", b"1")])


# Origin --------------------------------------------------------------------------------------------

OWN = {"scheme": "https", "host": "bff.example"}


def _origin(value: str, allowed: frozenset[str] = frozenset(), **own: str | None) -> None:
    where = {**OWN, **own}
    check_origin([(b"origin", value.encode("latin-1"))], allowed=allowed, **where)  # type: ignore[arg-type]


def test_no_origin_header_passes() -> None:
    check_origin([], scheme="https", host="bff.example", allowed=frozenset())


@pytest.mark.parametrize(
    "value", ["https://bff.example", "https://BFF.example", "https://bff.example:443", "https://bff.example/"]
)
def test_the_bffs_own_origin_passes_in_any_equivalent_spelling(value: str) -> None:
    _origin(value)


def test_own_origin_follows_the_request_scheme_and_host_port() -> None:
    _origin("http://127.0.0.1:8000", scheme="http", host="127.0.0.1:8000")
    _origin("http://localhost", scheme="http", host="LOCALHOST:80")
    _origin("http://[::1]:8000", scheme="http", host="[::1]:8000")
    with pytest.raises(OriginRefused):
        _origin("https://127.0.0.1:8000", scheme="http", host="127.0.0.1:8000")  # other scheme
    with pytest.raises(OriginRefused):
        _origin("http://127.0.0.1:8001", scheme="http", host="127.0.0.1:8000")  # other port


@pytest.mark.parametrize(
    "value",
    [
        "https://evil.example",
        "https://bff.example.evil.example",
        "https://evilbff.example",
        "http://bff.example",
        "https://bff.example:8443",
        "null",
        "NULL",
        "",
        "bff.example",
        "https://bff.example/path",
        "https://user@bff.example",
        "https://bff.example?x",
        "file://",
        "chrome-extension://abcdef",
        "https://bff.example, https://evil.example",
        "https://bff.example:99999",
        "https://bff.example.",
    ],
)
def test_foreign_null_and_malformed_origins_are_refused(value: str) -> None:
    with pytest.raises(OriginRefused):
        _origin(value)


def test_listed_origins_pass_after_normalising_both_sides() -> None:
    allowed = frozenset({"https://app.example", "http://LOCALHOST:5173/", "https://spa.example:443"})
    for value in [
        "https://app.example",
        "https://app.example:443",
        "http://localhost:5173",
        "https://spa.example",
    ]:
        _origin(value, allowed)
    with pytest.raises(OriginRefused):
        _origin("http://localhost:5174", allowed)
    with pytest.raises(OriginRefused):
        _origin("http://app.example", allowed)


def test_without_a_host_header_only_listed_origins_pass() -> None:
    with pytest.raises(OriginRefused):
        _origin("https://bff.example", host=None)
    _origin("https://app.example", frozenset({"https://app.example"}), host=None)


def test_a_garbage_host_header_does_not_make_any_origin_own() -> None:
    with pytest.raises(OriginRefused):
        _origin("https://evil.example", host="evil.example/x")
    with pytest.raises(OriginRefused):
        _origin("https://bff.example", host="")


def test_a_repeated_origin_header_is_refused_even_if_each_is_good() -> None:
    with pytest.raises(OriginRefused):
        check_origin(
            [(b"origin", b"https://bff.example"), (b"origin", b"https://bff.example")],
            scheme="https",
            host="bff.example",
            allowed=frozenset(),
        )


def test_origin_check_reads_header_names_case_insensitively() -> None:
    with pytest.raises(OriginRefused):
        check_origin(
            [(b"Origin", b"https://evil.example")], scheme="https", host="bff.example", allowed=frozenset()
        )


# Helpers -------------------------------------------------------------------------------------------


def test_normalise_origin() -> None:
    assert normalise_origin("HTTPS://App.Example:443/") == "https://app.example"
    assert normalise_origin("http://app.example:80") == "http://app.example"
    assert normalise_origin("http://app.example:0443") == "http://app.example:443"
    assert normalise_origin("https://app.example:0") is None
    assert normalise_origin("null") is None
    assert normalise_origins(frozenset({"https://a.example:443", "bogus"})) == frozenset(
        {"https://a.example"}
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/auth/login", True),
        ("/auth", True),
        ("/api/UPRest/GetUPData", True),
        ("/API/x", True),
        ("//api/x", True),
        ("/Auth/logout", True),
        ("/healthz", False),
        ("/metrics", False),
        ("/", False),
        ("/authx", False),
        ("/apis/x", False),
        ("/static/api/x", False),
    ],
)
def test_guarded_paths(path: str, expected: bool) -> None:
    assert guarded(path) is expected
