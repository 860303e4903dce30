"""Header hygiene: what reaches the tenant, what reaches the browser, request ids, injection refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import InvalidRequest
from app.security.headers import (
    HOP_BY_HOP,
    connection_tokens,
    request_headers_for_upstream,
    response_headers_for_browser,
    safe_header_value,
    upstream_accept_encoding,
)

BROWSER_REQUEST = [
    (b"host", b"bff.example"),
    (b"cookie", b"__Host-bff=secret-ticket"),
    (b"authorization", b"Bearer browser-token"),
    (b"x-csrf", b"1"),
    (b"origin", b"https://bff.example"),
    (b"referer", b"https://bff.example/app"),
    (b"user-agent", b"Mozilla/5.0"),
    (b"content-type", b"application/json"),
    (b"content-length", b"2"),
    (b"accept", b"application/json"),
    (b"accept-encoding", b"gzip, br"),
    (b"accept-language", b"de-CH, en;q=0.5"),
    (b"x-request-id", b"req-123"),
    (b"connection", b"keep-alive"),
    (b"keep-alive", b"timeout=5"),
    (b"te", b"trailers"),
    (b"transfer-encoding", b"chunked"),
    (b"upgrade", b"websocket"),
    (b"proxy-authorization", b"Basic eA=="),
    (b"x-forwarded-for", b"1.2.3.4"),
    (b"x-idap-native-client", b"false"),
]


# Upstream ------------------------------------------------------------------------------------------


def test_only_the_five_listed_headers_go_upstream() -> None:
    assert request_headers_for_upstream(BROWSER_REQUEST) == [
        (b"content-type", b"application/json"),
        (b"accept", b"application/json"),
        (b"accept-encoding", b"gzip"),  # br struck off: test_only_codings_the_proxy_can_decode_are_offered
        (b"accept-language", b"de-CH, en;q=0.5"),
        (b"x-request-id", b"req-123"),
    ]


@pytest.mark.parametrize(
    ("browser", "tenant"),
    [
        (b"gzip, deflate, br, zstd", b"gzip, deflate"),
        (b"br;q=1.0, GZIP;q=0.5, *;q=0.1", b"GZIP;q=0.5"),
        (b"x-gzip", b"x-gzip"),
        (b"identity", b"identity"),
        (b"br, zstd", b"identity"),
        (b"*", b"identity"),
        (b"", b"identity"),
    ],
)
def test_only_codings_the_proxy_can_decode_are_offered(browser: bytes, tenant: bytes) -> None:
    # The token-rejection check must read a compressed answer; zlib (gzip, deflate) is all it has.
    assert upstream_accept_encoding(browser) == tenant
    assert request_headers_for_upstream([(b"accept-encoding", browser)]) == [(b"accept-encoding", tenant)]


def test_upstream_header_names_are_matched_case_insensitively_and_sent_lower_case() -> None:
    assert request_headers_for_upstream([(b"Content-Type", b"text/plain"), (b"COOKIE", b"x")]) == [
        (b"content-type", b"text/plain")
    ]


def test_a_header_named_in_connection_is_hop_by_hop_even_if_listed() -> None:
    headers = [(b"connection", b"Accept-Language, close"), (b"accept-language", b"de"), (b"accept", b"*/*")]
    assert request_headers_for_upstream(headers) == [(b"accept", b"*/*")]


def test_request_id_argument_replaces_the_incoming_one() -> None:
    out = request_headers_for_upstream([(b"x-request-id", b"from-browser")], request_id="ours-1")
    assert out == [(b"x-request-id", b"ours-1")]
    with pytest.raises(ValueError, match="request_id"):
        request_headers_for_upstream([], request_id="bad id\r\n")


@pytest.mark.parametrize(
    "ids",
    [[b"has space"], [b"x" * 129], [b""], [b"a", b"b"], [b"\xc3\xa4"]],
    ids=["space", "long", "empty", "two", "utf8"],
)
def test_an_invalid_or_repeated_incoming_request_id_is_dropped(ids: list[bytes]) -> None:
    assert request_headers_for_upstream([(b"x-request-id", i) for i in ids]) == []


@pytest.mark.parametrize(
    "value", [b"a\r\nX-Evil: 1", b"a\nb", b"a\rb", b"a\x00b", b"a\x01b", b"a\tb", b"a\x7fb"]
)
def test_a_control_character_in_a_forwarded_request_header_is_refused(value: bytes) -> None:
    with pytest.raises(InvalidRequest):
        request_headers_for_upstream([(b"accept", value)])


def test_a_control_character_in_a_dropped_request_header_does_not_matter() -> None:
    assert request_headers_for_upstream([(b"user-agent", b"a\x00b"), (b"accept", b"x")]) == [
        (b"accept", b"x")
    ]


def test_two_content_types_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        request_headers_for_upstream(
            [(b"content-type", b"application/json"), (b"content-type", b"text/plain")]
        )


def test_repeated_list_headers_are_kept_in_order() -> None:
    headers = [(b"accept", b"a/b"), (b"accept", b"c/d")]
    assert request_headers_for_upstream(headers) == headers


# Browser -------------------------------------------------------------------------------------------

TENANT_RESPONSE = [
    (b"Content-Type", b"application/json; charset=utf-8"),
    (b"Content-Length", b"17"),
    (b"Content-Encoding", b"gzip"),
    (b"Cache-Control", b"no-store"),
    (b"ETag", b'"abc"'),
    (b"X-Request-ID", b"req-123"),
    (b"Set-Cookie", b".ASPXAUTH=tenant-token; path=/; secure; HttpOnly"),
    (b"set-cookie", b"podloc=abc; path=/"),
    (b"Set-Cookie2", b"old=1"),
    (b"Connection", b"keep-alive, X-Pod-Hint"),
    (b"X-Pod-Hint", b"pod7"),
    (b"Keep-Alive", b"timeout=5"),
    (b"Transfer-Encoding", b"chunked"),
    (b"Trailer", b"Expires"),
    (b"Upgrade", b"h2c"),
    (b"Proxy-Authenticate", b"Basic"),
    (b"Access-Control-Allow-Origin", b"https://evil.example"),
    (b"Access-Control-Allow-Credentials", b"true"),
    (b"Strict-Transport-Security", b"max-age=31536000"),
    (b"Alt-Svc", b'h3=":443"'),
    (b"Clear-Site-Data", b'"cookies"'),
]


def test_browser_gets_end_to_end_headers_without_cookies_hop_by_hop_or_origin_policies() -> None:
    assert response_headers_for_browser(TENANT_RESPONSE) == [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", b"17"),
        (b"content-encoding", b"gzip"),
        (b"cache-control", b"no-store"),
        (b"etag", b'"abc"'),
        (b"x-request-id", b"req-123"),
    ]


@pytest.mark.parametrize("value", [b"a\r\nSet-Cookie: x=1", b"a\x00", b"a\nb", b"\x1b[31m"])
def test_a_tenant_header_with_control_characters_is_dropped(value: bytes) -> None:
    assert response_headers_for_browser([(b"x-thing", value), (b"etag", b"1")]) == [(b"etag", b"1")]


@pytest.mark.parametrize("name", [b"bad name", b"bad:name", b"", b"x\r\ny", b"caf\xc3\xa9"])
def test_a_tenant_header_with_an_invalid_name_is_dropped(name: bytes) -> None:
    assert response_headers_for_browser([(name, b"v")]) == []


def test_every_hop_by_hop_header_is_dropped_in_both_directions() -> None:
    pairs = [(name, b"x") for name in HOP_BY_HOP]
    assert response_headers_for_browser(pairs) == []
    assert request_headers_for_upstream(pairs) == []


def test_connection_tokens() -> None:
    pairs = [(b"Connection", b" Keep-Alive , X-A"), (b"connection", b"x-b,,"), (b"x-a", b"1")]
    assert connection_tokens(pairs) == frozenset({b"keep-alive", b"x-a", b"x-b"})


# Request ids and values ------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=30))
def test_safe_header_value_is_false_exactly_when_a_control_byte_is_present(value: bytes) -> None:
    assert safe_header_value(value) is not any(b < 0x20 or b == 0x7F for b in value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=20), st.binary(max_size=20)), max_size=8))
def test_response_filter_never_passes_cookies_or_control_bytes(headers: list[tuple[bytes, bytes]]) -> None:
    for name, value in response_headers_for_browser(headers):
        assert name not in HOP_BY_HOP and not name.startswith(b"set-cookie")
        assert safe_header_value(value) and safe_header_value(name) and name
