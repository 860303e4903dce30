"""Header hygiene for the proxy: what goes up to the tenant, what comes back to the browser.

Example::

    up = request_headers_for_upstream(scope["headers"], request_id="abc-123")
    down = response_headers_for_browser(upstream_response.headers.raw)

Headers are ASGI-style ``(name, value)`` byte pairs in and out; names come out lower-case. A request header
value with CR, LF, NUL or another control character is refused with :class:`InvalidRequest` (the browser sent
garbage); such a response header from the tenant is dropped (the browser must not receive it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from app.errors import InvalidRequest
from app.observe.request_ids import valid_request_id

HeaderList = list[tuple[bytes, bytes]]

#: Hop-by-hop headers (RFC 9110 §7.6.1, plus RFC 7230's Trailer and the Proxy-* pair): never forwarded.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
    }
)
#: The only request headers the tenant gets from the browser.
UPSTREAM_REQUEST_HEADERS = frozenset(
    {b"content-type", b"accept", b"accept-encoding", b"accept-language", b"x-request-id"}
)
#: End-to-end response headers that still must not reach the browser: cookies belong to the tenant's
#: origin, and these origin-scoped policies would otherwise apply to the BFF's origin (a tenant's CORS grant
#: would open the BFF's authenticated answers to other sites).
BROWSER_DROPPED_HEADERS = frozenset(
    {b"set-cookie", b"set-cookie2", b"alt-svc", b"strict-transport-security", b"clear-site-data"}
)
_BROWSER_DROPPED_PREFIXES = (b"access-control-",)
#: The content codings the proxy can read back (zlib, from the standard library). Its token-rejection check
#: must see an answer decoded, so the tenant is offered these and no other (no brotli, no zstd).
DECODABLE_CODINGS = frozenset({b"gzip", b"x-gzip", b"deflate"})
#: Request headers that must appear at most once: two Content-Types are two readings of one body.
_SINGLE_REQUEST_HEADERS = frozenset({b"content-type"})

# RFC 9110 token characters for field names.
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Any C0 control (TAB included, to be strict), or DEL.
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def safe_header_value(value: bytes) -> bool:
    """False when ``value`` holds CR, LF, NUL or any other control character (header injection)."""
    return _CONTROL.search(value) is None


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names listed in ``Connection`` (lower-case): hop-by-hop for this one message."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def request_headers_for_upstream(
    headers: Iterable[tuple[bytes, bytes]], *, request_id: str | None = None
) -> HeaderList:
    """The browser's headers cut to :data:`UPSTREAM_REQUEST_HEADERS`; ``request_id`` replaces X-Request-ID.

    Raises :class:`InvalidRequest` for a control character in a kept value or a repeated Content-Type.
    An invalid incoming X-Request-ID is dropped rather than refused.
    """
    pairs = list(headers)
    named = connection_tokens(pairs)
    kept: HeaderList = []
    seen: set[bytes] = set()
    incoming_ids: list[bytes] = []
    for raw_name, value in pairs:
        name = raw_name.lower()
        if name not in UPSTREAM_REQUEST_HEADERS or name in named:
            continue
        if not safe_header_value(value):
            raise InvalidRequest()
        if name == b"x-request-id":
            incoming_ids.append(value)
            continue
        if name in _SINGLE_REQUEST_HEADERS and name in seen:
            raise InvalidRequest()
        if name == b"accept-encoding":
            value = upstream_accept_encoding(value)
        seen.add(name)
        kept.append((name, value))
    if request_id is not None:
        if not valid_request_id(request_id):
            raise ValueError("request_id must be 1-128 characters of [A-Za-z0-9._-]")
        kept.append((b"x-request-id", request_id.encode("ascii")))
    elif len(incoming_ids) == 1 and valid_request_id(incoming_ids[0].decode("latin-1")):
        kept.append((b"x-request-id", incoming_ids[0]))
    return kept


# Browsers send one of a handful of Accept-Encoding values: each is narrowed once. Bounded like the verdicts.
_ACCEPT_ENCODINGS: dict[bytes, bytes] = {}
_MAX_ACCEPT_ENCODINGS = 64


def upstream_accept_encoding(value: bytes) -> bytes:
    """The browser's Accept-Encoding cut to :data:`DECODABLE_CODINGS`, ``identity`` when none is left.

    Example: ``b"gzip, deflate, br, zstd"`` -> ``b"gzip, deflate"``. ``*`` and ``identity`` entries go too:
    without them the tenant may still answer uncompressed, which the proxy always reads.
    """
    narrowed = _ACCEPT_ENCODINGS.get(value)
    if narrowed is not None:
        return narrowed
    kept = [
        entry.strip()
        for entry in value.split(b",")
        if entry.partition(b";")[0].strip().lower() in DECODABLE_CODINGS
    ]
    narrowed = b", ".join(kept) if kept else b"identity"
    if len(_ACCEPT_ENCODINGS) >= _MAX_ACCEPT_ENCODINGS:
        _ACCEPT_ENCODINGS.clear()
    _ACCEPT_ENCODINGS[value] = narrowed
    return narrowed


def response_headers_for_browser(headers: Iterable[tuple[bytes, bytes]]) -> HeaderList:
    """The tenant's end-to-end headers minus cookies, hop-by-hop, origin-scoped policies and bad values."""
    kept: HeaderList = []
    named: frozenset[bytes] = frozenset()
    for raw_name, value in headers:
        name = _browser_name(raw_name)
        if name is None:
            # The usual values name no header that is not dropped anyway: nothing to parse.
            if raw_name.lower() == b"connection" and value not in _PLAIN_CONNECTION:
                named = named | connection_tokens([(b"connection", value)])
            continue
        if safe_header_value(value):
            kept.append((name, value))
    if named:
        kept = [(name, value) for name, value in kept if name not in named]
    return kept


# Connection values that list no header but hop-by-hop ones (Keep-Alive is dropped by name already).
_PLAIN_CONNECTION = frozenset({b"keep-alive", b"Keep-Alive", b"close", b"Close"})

# Verdicts on response header names, remembered: a tenant sends the same dozen names on every answer, and
# judging one costs more than the rest of the header's handling. Bounded, so odd names cannot grow it.
_NAME_VERDICTS: dict[bytes, bytes | None] = {}
_MAX_VERDICTS = 512


def _browser_name(raw_name: bytes) -> bytes | None:
    """The lower-case name when a header of that name may reach the browser, else None."""
    try:
        return _NAME_VERDICTS[raw_name]
    except KeyError:
        pass
    name = raw_name.lower()
    verdict: bytes | None = name
    if (
        name in HOP_BY_HOP
        or name in BROWSER_DROPPED_HEADERS
        or name.startswith(_BROWSER_DROPPED_PREFIXES)
        or not _FIELD_NAME.fullmatch(name)
    ):
        verdict = None
    if len(_NAME_VERDICTS) >= _MAX_VERDICTS:
        _NAME_VERDICTS.clear()
    _NAME_VERDICTS[raw_name] = verdict
    return verdict
