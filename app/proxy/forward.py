"""One proxied call: allow-list, session (one Redis round trip), header rules, the call, streamed answer.

Example::

    proxy = Proxy(settings, metrics, guards=(HeaderBudget().refusal,))   # the tenant, under /api
    orders = Proxy(settings, metrics, target=upstream_target(...), guards=...)   # an upstream (api.md §7)
    await proxy.open(sessions)          # in the lifespan: the tenant client starts with the event loop
    await proxy.handle(scope, receive, send)   # for a request under /api/
    await proxy.aclose()

The way through is short and one-directional (design.md): the guards (checks on the scope alone, given by
app/main.py), then refuse what the allow-list does not name before anything else (no Redis, nothing
upstream), then the session, then the target (the tenant, or an upstream: app/proxy/target.py, which also
makes its client). Errors raised before the answer starts become the documented JSON; once the answer has
started, a failure can only cut the connection. The tenant and every upstream go through this same code;
only the tenant's answers can end a session (an upstream's 401/403 is its verdict on its own credential).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from starlette.types import Receive, Scope, Send

from app.errors import (
    BFFError,
    BodyTimeout,
    BodyTooLarge,
    InvalidRequest,
    NotAllowed,
    RateLimited,
    SessionExpired,
    TenantError,
    TenantTimeout,
    Unauthenticated,
    UpstreamTimeout,
    UpstreamUnavailable,
    send_error,
)
from app.identity.envelope import rejects_token
from app.identity.upstream import NATIVE_CLIENT, ProxyUpstream
from app.observe.logs import audit
from app.observe.metrics import Metrics
from app.origin.connection import OriginResponse
from app.proxy.body import BrowserGone, Deadlines, RequestBody
from app.proxy.encoding import decoded
from app.proxy.inbound import content_length, cookie_value, tenant_raw_path, valid_query
from app.proxy.target import Target, tenant_target
from app.security.cookies import clear_session_cookie
from app.security.headers import (
    UPSTREAM_REQUEST_HEADERS,
    request_headers_for_upstream,
    response_headers_for_browser,
)
from app.sessions.refresh import Refresher
from app.sessions.service import Session, SessionService
from app.settings import Settings

log = logging.getLogger("bff.proxy")

#: Answers up to this size are read whole before the browser gets anything, so a token-rejection body can
#: still become 401 session_expired; larger ones stream from their first 64 KiB on.
PEEK_BYTES = 64 * 1024
# The BFF's own server stamps Date and Server, and the access layer sets X-Request-ID: the tenant's copies
# would be second values of single-valued fields.
_RESTAMPED = frozenset({b"date", b"server", b"x-request-id"})
_UPSTREAM_CANDIDATES = UPSTREAM_REQUEST_HEADERS | {b"connection"}
_NATIVE_CLIENT = [(name.lower().encode("ascii"), value.encode("ascii")) for name, value in NATIVE_CLIENT]
#: On every proxied answer: the tenant's answers are served from the BFF's own origin, where a tenant HTML or
#: SVG page must neither run script nor be sniffed into one (a tenant's own CSP, if any, applies as well).
HARDENING_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"content-security-policy", b"sandbox")]
# The BFF sets its own: a tenant's value would be a second one.
_RESTAMPED_AND_HARDENED = _RESTAMPED | {b"x-content-type-options"}
#: Seconds a client refused for too many calls in flight is asked to wait (a call takes milliseconds).
IN_FLIGHT_RETRY_AFTER = 1
# Set in the scope once the tenant's status line has gone to the browser: no error answer is possible after.
_STARTED = "bff.proxy.started"

#: A check run before anything else, on the scope alone: the error to answer, or None to go on.
Guard = Callable[[Scope], BFFError | None]


class Proxy:
    """The data plane for one target: ``Proxy(settings, metrics, target=..., guards=...)``, opened by the
    lifespan. Without ``target``: the tenant under /api."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        *,
        target: Target | None = None,
        guards: Sequence[Guard] = (),
    ) -> None:
        self.settings = settings
        self.target = target = target or tenant_target(settings)
        #: Run first, in order, on every call: the first error is the answer (the checks the app's middleware
        #: runs for its other routes, as function calls rather than layers on the hot path).
        self.guards = tuple(guards)
        self.allow = target.allow
        self._prefix = target.prefix
        #: None for the tenant (its bearer, the native-client headers, the session's pod).
        self._credential = target.credential
        self._tenant = target.is_tenant
        self.max_body = settings.bff_max_body_bytes
        self.preread = settings.bff_proxy_preread_bytes
        self.body_timeout = settings.bff_proxy_body_timeout
        self.max_in_flight = settings.bff_proxy_max_in_flight
        #: Calls in flight per session (its storage key), from the session check to the answer's last byte;
        #: each target counts its own (each has its own pool to protect).
        self.in_flight: dict[str, int] = {}
        self.metrics = metrics
        self._cookie_name = settings.cookie_name.encode("latin-1")
        self._clear_cookie = clear_session_cookie(settings)
        self._tenant_latency = (
            metrics.tenant_latency.labels(call="proxy")
            if self._tenant
            else metrics.upstream_latency.labels(upstream=target.name)
        )
        self._sessions: SessionService | None = None
        self._upstream: ProxyUpstream | None = None
        self._refresher: Refresher | None = None
        self._deadlines: Deadlines | None = None
        self._loop_time: Callable[[], float] = time.monotonic  # the serving loop's clock, once open

    async def open(
        self,
        sessions: SessionService,
        upstream: ProxyUpstream | None = None,
        refresher: Refresher | None = None,
    ) -> None:
        """Start serving with ``sessions``; the target's client is made here (it needs the running loop)."""
        self._sessions = sessions
        # OAuth sessions' access tokens are refreshed before use, when the target gets them.
        self._refresher = refresher if self.target.refreshes else None
        self._upstream = upstream or self.target.open_client()
        loop = asyncio.get_running_loop()
        self._deadlines = Deadlines(loop)
        self._loop_time = loop.time

    async def aclose(self) -> None:
        if self._upstream is not None:
            await self._upstream.aclose()
            self._upstream = None

    @property
    def upstream(self) -> ProxyUpstream:
        if self._upstream is None:
            raise RuntimeError("the proxy is not open (the app's lifespan has not run)")
        return self._upstream

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request under the target's prefix: forward it, or answer the documented error."""
        for guard in self.guards:
            error = guard(scope)
            if error is not None:
                await send_error(send, error)
                return
        try:
            response, session = await self._call(scope, receive)
        except BrowserGone:
            log.info("browser left before its request body was complete")
            return
        except Exception as exc:  # _refuse tells the documented errors from a bug
            await self._refuse(scope, send, exc)
            return
        # The answer is streamed here rather than in a helper coroutine: every await below resumes through
        # each coroutine frame above it, and this is the hot path.
        done = False
        try:
            if self._tenant and response.status in (401, 403):
                await self._end(session, f"HTTP {response.status}")
            # Up to PEEK_BYTES of the answer, and whether that is all of it.
            chunks: list[bytes] = []
            size = 0
            while True:
                chunk = await response.read()
                if chunk:
                    chunks.append(chunk)
                    size += len(chunk)
                if response.exhausted:
                    done = True
                    break
                if size >= PEEK_BYTES:
                    break
            if done and chunks and self._tenant:
                # The check reads what the tenant meant: a compressed rejection is still a rejection.
                encoding = response.header(b"content-encoding")
                if rejects_token(chunks if encoding is None else _decoded(chunks, encoding)):
                    await self._end(session, "token rejected in body")
            headers = [
                (name, value)
                for name, value in response_headers_for_browser(response.headers)
                if name not in _RESTAMPED_AND_HARDENED
            ]
            headers += HARDENING_HEADERS
            scope[_STARTED] = True
            await send({"type": "http.response.start", "status": response.status, "headers": headers})
            if done:
                await send({"type": "http.response.body", "body": b"".join(chunks)})
                return
            for chunk in chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            try:
                while chunk := await response.read():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except TenantError as exc:
                # Headers are out: the only honest signal left is an incomplete answer (the server cuts it).
                log.warning(
                    "answer broke off mid-stream", extra={"error": exc.code, "target": self.target.name}
                )
                return
            await send({"type": "http.response.body", "body": b""})
            done = True
        except Exception as exc:
            await self._refuse(scope, send, exc)
        finally:
            if done:
                response.release()
            else:
                response.close()
            self._leave(session.storage_key)

    async def _refuse(self, scope: Scope, send: Send, exc: Exception) -> None:
        """The documented error answer for ``exc``, if the browser has not had a status line yet."""
        if isinstance(exc, SessionExpired):
            await send_error(send, exc, [self._clear_cookie])
        elif isinstance(exc, BFFError):
            if exc.status == 503:
                self.metrics.store_errors.inc()
                log.warning("store unavailable", extra={"cause": type(exc.__cause__).__name__})
            elif isinstance(exc, TenantError):
                log.warning("proxied call failed", extra={"error": exc.code, "target": self.target.name})
                if not self._tenant:
                    # The client's errors speak of the identity service: an upstream's name their own.
                    exc = UpstreamTimeout() if isinstance(exc, TenantTimeout) else UpstreamUnavailable()
            await send_error(send, exc)
        else:
            # The proxy runs outside FastAPI's error middleware: the one JSON 500, never a traceback.
            log.error("unexpected error in the proxy", exc_info=exc)
            if scope.get(_STARTED):
                raise exc
            await send_error(send, BFFError())

    async def _call(self, scope: Scope, receive: Receive) -> tuple[OriginResponse, Session]:
        """Check the request, load the session and send the call: the target's answer, headers read."""
        method: str = scope["method"]
        raw_path = tenant_raw_path(scope, self._prefix)
        if raw_path is None or not self.allow.allows_raw(method, raw_path):
            raise NotAllowed()
        query: bytes = scope.get("query_string", b"")
        if not valid_query(query):
            raise InvalidRequest()
        if self._sessions is None or self._upstream is None or self._deadlines is None:
            raise RuntimeError("the proxy is not open (the app's lifespan has not run)")
        # One pass sorts out the few headers the proxy reads: the rest are never looked at again.
        listed: list[tuple[bytes, bytes]] = []  # may go up (and Connection, which can strike one off)
        cookies: list[tuple[bytes, bytes]] = []
        lengths: list[tuple[bytes, bytes]] = []
        transfer_encoding = False
        for pair in scope["headers"]:
            name = pair[0]
            if name in _UPSTREAM_CANDIDATES:
                listed.append(pair)
            elif name == b"cookie":
                cookies.append(pair)
            elif name == b"content-length":
                lengths.append(pair)
            elif name == b"transfer-encoding":
                transfer_encoding = True
        # Two framings of one body: servers disagree on which wins (h11 takes the chunks, others the length),
        # and forwarding either reading is how a second request gets smuggled to the tenant (RFC 9112 §6.1).
        if transfer_encoding and lengths:
            raise InvalidRequest()
        cookie = cookie_value(cookies, self._cookie_name)
        session = await self._sessions.load(cookie, slide=True, cached=True)
        if session is None or cookie is None:
            raise Unauthenticated()
        state = scope.setdefault("state", {})
        state["session"] = session.log_id
        # Counted before a token refresh: calls waiting for one (perhaps another replica's) hold their place.
        self._enter(session)
        try:
            # API sessions have no access_expires_at: for them this is one attribute test.
            if session.access_expires_at is not None and self._refresher is not None:
                if self._refresher.due(session):
                    session = await self._refresher.fresh(cookie, session)
            if self._tenant:
                bearer: str | None = session.bearer
                extra = _NATIVE_CLIENT
                base_url = session.tenant_url
            else:
                # Before the body is read: a refusal (token_unavailable) sends nothing upstream.
                bearer = self._credential(session)  # type: ignore[misc]
                extra = []
                base_url = None
            kept = request_headers_for_upstream(listed, request_id=state.get("request_id"))
            length = content_length(lengths)
            if length is not None and length > self.max_body:
                raise BodyTooLarge()
            reader = RequestBody(
                receive,
                self.max_body,
                preread=self.preread,
                deadline=self._loop_time() + self.body_timeout,
                declared=length,
            )
            # Before a tenant connection is taken: a small body that trickles in holds none of the pool.
            body = await reader.start(self._deadlines)
            if bearer is not None:
                kept.append((b"authorization", b"Bearer " + bearer.encode("latin-1")))
            kept += extra

            started = time.perf_counter()
            try:
                # A streamed body's declared length goes up as one (the tenant gets the body as sent rather
                # than chunked): the reader ends the upload before a byte past it, or short of it, could
                # reach the tenant.
                response = await self._upstream.send(
                    method,
                    raw_path.decode("ascii"),
                    query.decode("ascii"),
                    kept,
                    body or None,
                    base_url,
                    length=None if isinstance(body, bytes) else length,
                )
            except TenantError as exc:
                # The client stops on a broken connection; the reader says whether the browser's body
                # (too large, too slow, mis-framed, gone) was the cause.
                if reader.too_large:
                    raise BodyTooLarge() from exc
                if reader.timed_out:
                    raise BodyTimeout() from exc
                if reader.invalid:
                    raise InvalidRequest() from exc
                if reader.gone:
                    raise BrowserGone() from exc
                raise
            self._tenant_latency.observe(time.perf_counter() - started)
        except BaseException:
            self._leave(session.storage_key)
            raise
        return response, session

    def _enter(self, session: Session) -> None:
        """Count a call of ``session`` in, or refuse it: one user must not hold the tenant pool alone."""
        key = session.storage_key
        count = self.in_flight.get(key, 0)
        if count >= self.max_in_flight:
            audit("rate_limited", by="bff", scope="proxy_in_flight", session=session.log_id)
            raise RateLimited(IN_FLIGHT_RETRY_AFTER)
        self.in_flight[key] = count + 1

    def _leave(self, key: str) -> None:
        count = self.in_flight[key] - 1
        if count:
            self.in_flight[key] = count
        else:
            del self.in_flight[key]

    async def _end(self, session: Session, reason: str) -> None:
        assert self._sessions is not None  # noqa: S101 - set before any session was loaded
        await self._sessions.delete(session)
        audit("session_expired", session=session.log_id, reason=reason)
        raise SessionExpired()


def _decoded(chunks: list[bytes], encoding: bytes) -> list[bytes]:
    """The answer's chunks decoded for the token-rejection check; none when they cannot be."""
    plain = decoded(b"".join(chunks), encoding)
    return [plain] if plain is not None else []
