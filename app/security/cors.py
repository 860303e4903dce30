"""CORS for the origins of ``BFF_ALLOWED_ORIGINS``, and for no one else (api.md §2, "Another origin").

Example::

    cors = Cors({"https://app.example.com"})
    origin = cors.listed(scope["headers"])      # "https://app.example.com", or None (no Origin, or unlisted)
    send = cors.sender(send, origin)             # every answer to it gains the CORS headers
    await cors.preflight(scope, receive, send)   # 204 for a listed origin, 403 origin for any other

Starlette's ``CORSMiddleware`` answers an unlisted preflight ``400`` with a text body and would sit as one
more coroutine layer on every call; the contract wants ``403 {"error": "origin"}`` and a same-origin call
must pay nothing. So this is a policy object the app's front door (``ProxyFirstFastAPI``) consults with one
scan of the request's headers, wrapping ``send`` only for a listed origin.

Every answer to a listed origin (the app's, the proxy's, any guard's refusal) gets exactly the BFF's own
``Access-Control-*`` headers: any other (a tenant's or an upstream's, were one to slip through) is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.types import Message, Receive, Scope, Send

from app.errors import OriginRefused, send_error
from app.security.csrf import guarded, normalise_origin, normalise_origins
from app.security.headers import UPSTREAM_REQUEST_HEADERS

Header = tuple[bytes, bytes]

#: Methods a preflight is granted: the JSON routes' and any the proxy's rules may forward. A requested
#: method outside these (a proxy rule may name any) is granted too when it is a plain token.
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
#: Request headers an SPA may send: the CSRF header, and every header the proxy forwards to the tenant
#: (Accept-Encoding is the browser's own and never asked for; it is listed for completeness).
ALLOWED_HEADERS = ("x-csrf", *sorted(h.decode("ascii") for h in UPSTREAM_REQUEST_HEADERS))
#: Answer headers the SPA's script may read besides the CORS-safelisted ones.
EXPOSED_HEADERS = "Retry-After, X-Request-ID"
#: Seconds a browser may cache a preflight (Chromium caps it at 7200, Firefox at 86400).
MAX_AGE = 7200

_ACRM = b"access-control-request-method"
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Origin values seen, judged once: browsers send one spelling per origin. Bounded against junk values.
_MAX_VERDICTS = 256


def _is_cors_header(name: bytes) -> bool:
    return name[:15].lower() == b"access-control-"


class Cors:
    """The CORS policy for ``allowed_origins``: ``Cors({"https://app.example.com"})``.

    ``guarded_path`` says which paths a preflight is answered on (``/auth`` and ``/api`` by default).
    """

    def __init__(
        self, allowed_origins: Iterable[str], *, guarded_path: Callable[[str], bool] = guarded
    ) -> None:
        self.allowed = normalise_origins(frozenset(allowed_origins))
        self.guarded_path = guarded_path
        self._verdicts: dict[bytes, str | None] = {}

    def listed(self, headers: Iterable[tuple[bytes, bytes]]) -> str | None:
        """The request's ``Origin`` when it is one of the listed origins, else None.

        A repeated ``Origin`` is ambiguous and listed as nothing.
        """
        found: bytes | None = None
        for name, value in headers:
            if name == b"origin":
                if found is not None:
                    return None
                found = value
        if found is None:
            return None
        verdicts = self._verdicts
        try:
            return verdicts[found]
        except KeyError:
            pass
        origin = normalise_origin(found.decode("latin-1"))
        verdict = origin if origin in self.allowed else None
        if len(verdicts) >= _MAX_VERDICTS:
            verdicts.clear()
        verdicts[found] = verdict
        return verdict

    def is_preflight(self, scope: Scope) -> bool:
        """An ``OPTIONS`` with ``Access-Control-Request-Method`` on a guarded path (a browser's preflight)."""
        if scope["method"] != "OPTIONS" or not self.guarded_path(scope["path"]):
            return False
        return any(name == _ACRM for name, _ in scope["headers"])

    def headers_for(self, origin: str) -> list[Header]:
        """The headers every answer to the listed ``origin`` carries."""
        return [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", EXPOSED_HEADERS.encode("latin-1")),
        ]

    def sender(self, send: Send, origin: str) -> Send:
        """``send`` that puts the CORS headers for ``origin`` on the answer and drops any other's."""
        own = self.headers_for(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if not _is_cors_header(k)]
                message["headers"] = _vary_origin(headers) + own
            await send(message)

        return send_with_cors

    async def preflight(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a preflight (an ASGI app): ``204`` with the grant for a listed origin, else ``403 origin``.

        It needs no session and no ``X-CSRF``, and nothing reaches the tenant.
        """
        origin = self.listed(scope["headers"])
        if origin is None:
            await send_error(send, OriginRefused(), [(b"vary", b"Origin")])
            return
        headers = [
            *self.headers_for(origin),
            (b"access-control-allow-methods", _methods(scope["headers"]).encode("latin-1")),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode("latin-1")),
            (b"access-control-max-age", str(MAX_AGE).encode("latin-1")),
            (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _methods(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The granted methods: :data:`ALLOWED_METHODS`, plus the requested one when it is another plain token."""
    requested = ""
    for name, value in headers:
        if name == _ACRM:
            requested = value.decode("latin-1").strip()
            break
    if requested in ALLOWED_METHODS or not requested or len(requested) > 32:
        return ", ".join(ALLOWED_METHODS)
    if not set(requested) <= _TOKEN_CHARS or requested.upper() in ("CONNECT", "TRACE", "TRACK"):
        return ", ".join(ALLOWED_METHODS)
    return ", ".join((*ALLOWED_METHODS, requested))


def _vary_origin(headers: list[Header]) -> list[Header]:
    """``headers`` with ``Origin`` in its ``Vary`` (added to an existing one, or a new header)."""
    for i, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if value.strip() == b"*" or b"origin" in value.lower():
                return headers
            headers[i] = (name, value + b", Origin")
            return headers
    headers.append((b"vary", b"Origin"))
    return headers


def site_of(origin: str) -> str | None:
    """The site of a normalised origin, approximately: scheme and registrable domain (no suffix list).

    Example: ``https://app.example.com`` and ``https://bff.example.com:8443`` are both ``https://example.com``.
    An IP literal or a one-label host is its own site. The last two labels stand for the registrable domain,
    so ``app.example.co.uk`` and ``bff.other.co.uk`` look alike: the check it serves only ever warns.
    """
    scheme, _, rest = origin.partition("://")
    host = rest.partition("]")[0] + "]" if rest.startswith("[") else rest.partition(":")[0]
    if host.startswith("[") or host.replace(".", "").isdigit():
        return f"{scheme}://{host}"
    return f"{scheme}://{'.'.join(host.split('.')[-2:])}"


def other_site_origins(allowed_origins: Iterable[str], public_url: str | None) -> list[str]:
    """The listed origins of another site than ``public_url``: the ``SameSite=Strict`` cookie skips them."""
    public = normalise_origin(public_url) if public_url else None
    if public is None:
        return []
    site = site_of(public)
    return sorted(o for o in normalise_origins(frozenset(allowed_origins)) if site_of(o) != site)
