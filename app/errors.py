"""The BFF's one exception tree, and its one mapping to HTTP answers.

    BFFError
    ├── RequestError                 the browser's request is refused (4xx)
    │   ├── CsrfRequired             403 csrf
    │   ├── OriginRefused            403 origin
    │   ├── NotAllowed               403 not_allowed
    │   ├── NotFound                 404 not_found
    │   ├── MethodNotAllowed         405 method_not_allowed
    │   ├── InvalidRequest           400 invalid_request
    │   ├── BodyTooLarge             413 body_too_large
    │   ├── BodyTimeout              408 request_timeout
    │   ├── HeadersTooLarge          431 headers_too_large
    │   ├── Unauthenticated          401 unauthenticated
    │   ├── SessionExpired           401 session_expired
    │   ├── NoLoginInProgress        409 no_login_in_progress
    │   ├── StepInProgress           409 step_in_progress
    │   ├── TokenUnavailable         403 token_unavailable (an upstream wants a token the session lacks)
    │   └── RateLimited              429 rate_limited (+ retry_after, Retry-After)
    ├── TenantError                  the CyberArk Identity tenant, seen from the tenant client
    │   ├── LoginFailed              401 login_failed (every cause looks the same)
    │   ├── TenantRateLimited        429 rate_limited (the tenant's RetryWaitingTime)
    │   ├── TokenRejected            401 session_expired (the bearer is no longer good)
    │   ├── TenantUnavailable        502 upstream_unavailable
    │   ├── TenantTimeout            504 upstream_timeout
    │   └── TenantProtocolError      502 upstream_protocol_error (HTML, garbage, missing fields)
    ├── UpstreamError                one of the team's own APIs behind the BFF (api.md §7)
    │   ├── UpstreamUnavailable      502 upstream_unavailable
    │   └── UpstreamTimeout          504 upstream_timeout
    └── StoreUnavailable             503 store_unavailable (+ Retry-After)

Foreign errors (httpx, redis) are translated at the boundary into the most specific of these with
``raise ... from exc``. Only :func:`render_error` turns one into an answer (JSON, headers), so no handler
invents its own: :func:`send_error` sends it on plain ASGI (middleware, the proxy's hot path), and
``app.routes.responses.error_response`` hands it to FastAPI.
Messages are fixed per class: nothing from the tenant or from an exception's text reaches the browser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, ClassVar


class BFFError(Exception):
    """Base of every error the BFF raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    message: ClassVar[str] = "The request could not be completed."

    def extra(self) -> dict[str, Any]:
        """Fields added to the error body besides ``error`` and ``message``."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries."""
        return {}


class RequestError(BFFError):
    """The browser's request is refused."""

    status = 400
    code = "invalid_request"
    message = "The request is not valid."


class CsrfRequired(RequestError):
    status = 403
    code = "csrf"
    message = "This request needs the header X-CSRF: 1."


class OriginRefused(RequestError):
    status = 403
    code = "origin"
    message = "Requests from this origin are not accepted."


class NotAllowed(RequestError):
    status = 403
    code = "not_allowed"
    message = "This call is not on the allow-list."


class NotFound(RequestError):
    status = 404
    code = "not_found"
    message = "Not found."


class MethodNotAllowed(RequestError):
    status = 405
    code = "method_not_allowed"


class InvalidRequest(RequestError):
    status = 400
    code = "invalid_request"
    message = "The request body is not valid."


class BodyTooLarge(RequestError):
    status = 413
    code = "body_too_large"
    message = "The request body is too large."


class BodyTimeout(RequestError):
    status = 408
    code = "request_timeout"
    message = "The request body did not arrive in time."

    def headers(self) -> dict[str, str]:
        # The rest of the body may still come: the connection cannot be reused.
        return {"Connection": "close"}


class HeadersTooLarge(RequestError):
    status = 431
    code = "headers_too_large"
    message = "The request headers are too large."


class Unauthenticated(RequestError):
    status = 401
    code = "unauthenticated"
    message = "Sign in first."


class SessionExpired(RequestError):
    status = 401
    code = "session_expired"
    message = "The session has ended; sign in again."


class NoLoginInProgress(RequestError):
    status = 409
    code = "no_login_in_progress"
    message = "There is no sign-in in progress; start again."


class StepInProgress(RequestError):
    """Another step of the same login is still running (on this replica or another)."""

    status = 409
    code = "step_in_progress"
    message = "Another step of this sign-in is still in progress; wait for its answer."


class TokenUnavailable(RequestError):
    """An upstream takes the session's OAuth access token, and this session (an API login) has none."""

    status = 403
    code = "token_unavailable"
    message = "This service needs a session signed in with OAuth."


class _RetryAfter(BFFError):
    """429 with the whole seconds to wait, in the body (``retry_after``) and in ``Retry-After``."""

    status = 429
    code = "rate_limited"
    message = "Too many attempts; wait and try again."

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after}s")
        # Never advertise 0: a client told "retry after 0" hammers the server.
        self.retry_after = max(1, math.ceil(retry_after))

    def extra(self) -> dict[str, Any]:
        return {"retry_after": self.retry_after}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimited(_RetryAfter, RequestError):
    """The BFF's own limits tripped (login attempts, StartOOB)."""


class TenantError(BFFError):
    """Something the tenant said or failed to say."""

    status = 502
    code = "upstream_unavailable"
    message = "The identity service cannot be reached."


class LoginFailed(TenantError):
    """The tenant refused the login: wrong answer, unknown user, lockout, expired SessionId alike."""

    status = 401
    code = "login_failed"
    message = "Sign-in failed. Start again."


class TenantRateLimited(_RetryAfter, TenantError):
    """The tenant asked to wait (``RetryWaitingTime``)."""


class TokenRejected(TenantError):
    """The tenant no longer accepts the session's bearer."""

    status = 401
    code = "session_expired"
    message = "The session has ended; sign in again."


class TenantUnavailable(TenantError):
    status = 502
    code = "upstream_unavailable"
    message = "The identity service cannot be reached."


class TenantTimeout(TenantError):
    status = 504
    code = "upstream_timeout"
    message = "The identity service did not answer in time."


class TenantProtocolError(TenantError):
    """The tenant answered something that is not its protocol (HTML, garbage, missing fields)."""

    status = 502
    code = "upstream_protocol_error"
    message = "The identity service gave an answer the BFF does not understand."


class UpstreamError(BFFError):
    """One of the team's own APIs (an upstream of ``BFF_UPSTREAMS``) failed; never the tenant."""

    status = 502
    code = "upstream_unavailable"
    message = "The service cannot be reached."


class UpstreamUnavailable(UpstreamError):
    status = 502
    code = "upstream_unavailable"
    message = "The service cannot be reached."


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"
    message = "The service did not answer in time."


class StoreUnavailable(BFFError):
    """The session store (Redis) cannot be used right now."""

    status = 503
    code = "store_unavailable"
    message = "The session store is unavailable; try again shortly."
    retry_after: ClassVar[int] = 2

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def error_body(exc: BFFError) -> dict[str, Any]:
    """The documented error JSON for ``exc``: ``{"error", "message", ...extra}``."""
    return {"error": exc.code, "message": exc.message, **exc.extra()}


#: A raw ASGI header: (lower-case name, value).
Header = tuple[bytes, bytes]


def render_error(exc: BFFError, extra_headers: Sequence[Header] = ()) -> tuple[list[Header], bytes]:
    """The one rendering of an error answer: its raw headers and JSON body (its status is ``exc.status``).

    Example: ``headers, body = render_error(NotAllowed())`` (``{"error": "not_allowed", "message": ...}``).
    Both entry points send exactly this: the proxy and middleware by :func:`send_error`, FastAPI's handlers by
    :func:`app.routes.responses.error_response`.
    """
    body = json.dumps(error_body(exc), separators=(",", ":")).encode()
    headers: list[Header] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # An error is about this request only: no cache may keep it.
        (b"cache-control", b"no-store"),
    ]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers().items()]
    headers += extra_headers
    return headers, body


async def send_error(
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    exc: BFFError,
    extra_headers: Sequence[Header] = (),
) -> None:
    """Answer ``exc`` on a plain ASGI ``send`` (middleware, the proxy's hot path): :func:`render_error`.

    Example: ``await send_error(send, NotAllowed())`` (403 ``{"error": "not_allowed", "message": ...}``).
    """
    headers, body = render_error(exc, extra_headers)
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
