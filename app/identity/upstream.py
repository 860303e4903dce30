"""The connection to the tenant: what both its clients share, and the proxy's aiohttp client.

Example::

    upstream = Upstream.from_settings(settings)  # inside a running event loop (the lifespan)
    response = await upstream.send("POST", "/UPRest/GetUPData", b"", headers, body=b"{}")
    with translated():                           # aiohttp's failures become TenantTimeout/TenantUnavailable
        chunk = await response.content.readany()
    await upstream.aclose()

Both tenant clients, the login flow's (httpx, :class:`~app.identity.client.TenantClient`) and the proxy's
(aiohttp, :class:`Upstream`), take their TLS set-up from :func:`tls_context`, their timeout from
``CYBERARK_TIMEOUT`` and send :data:`NATIVE_CLIENT` on every call.

Why aiohttp and not the httpx client the login flow uses: the proxy is the hot path, and on this project's
2-vCPU box (the peers harness's RESULTS.md, 2026-11-21) a plain-ASGI proxy with one Redis round trip reached
only 0.25x the Node peer's req/s with httpx (httpcore's pool bookkeeping is quadratic in open connections and
cost ~30% of the CPU at 32 connections), but 1.23x at 32 connections and 1.72x at 1 with aiohttp's client.
The figures for this code are in README.md, "Performance".
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
from yarl import URL

from app.errors import TenantError, TenantTimeout, TenantUnavailable
from app.settings import Settings

if TYPE_CHECKING:
    from app.observe.trace_hook import TraceHook

#: Sent with every call to the tenant, as CyberArk's own clients send them.
NATIVE_CLIENT = (("X-IDAP-NATIVE-CLIENT", "true"), ("X-CENTRIFY-NATIVE-CLIENT", "true"))

#: Upstream connections per process: one per call in flight up to this bound; beyond it a call waits for a
#: free connection in FIFO order rather than opening more, and the wait counts against the connect timeout.
#: Bounded because the peers harness found a small pool (8) faster than 256 on loopback (fewer sockets to
#: poll per loop turn); 64 leaves room above the 32 concurrent callers of the benchmark.
POOL_SIZE = 64
#: Seconds an idle upstream connection is kept for reuse.
KEEPALIVE_SECONDS = 30.0
#: Headers aiohttp would otherwise add by itself: the tenant gets only what the spec lists.
_NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})

Body = bytes | AsyncIterable[bytes] | None


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for the tenant's certificate: ``CYBERARK_CA_BUNDLE``'s, or None for the system's."""
    ca = settings.cyberark_ca_bundle
    return ssl.create_default_context(cafile=str(ca)) if ca is not None else None


class ProxyUpstream(Protocol):
    """What the proxy needs of its tenant client: :class:`Upstream`, or :class:`TracedUpstream` around one."""

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        base_url: str | None = None,
    ) -> aiohttp.ClientResponse: ...

    async def aclose(self) -> None: ...


class Upstream:
    """``await Upstream(base_url, timeout=10).send(method, path, query, headers)`` -> an aiohttp response."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,
        pool_size: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        connector = aiohttp.TCPConnector(
            limit=pool_size or POOL_SIZE,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=ssl_context if ssl_context is not None else True,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # No jar: a tenant Set-Cookie (e.g. .ASPXAUTH, a load balancer's) must never ride along on
            # another user's call. The tests check the jar stays empty across users.
            cookie_jar=aiohttp.DummyCookieJar(),
            # connect covers waiting for a pooled connection too; sock_read bounds the wait for the answer's
            # headers and every later gap in its body, without cutting off a long download that keeps flowing.
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
            # The browser gets the tenant's bytes and Content-Encoding unchanged.
            auto_decompress=False,
            skip_auto_headers=_NO_AUTO_HEADERS,
            trust_env=False,
            raise_for_status=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream:
        """The client for ``CYBERARK_TENANT_URL`` with ``CYBERARK_TIMEOUT`` and ``CYBERARK_CA_BUNDLE``."""
        return cls(settings.tenant_url, timeout=settings.cyberark_timeout, ssl_context=tls_context(settings))

    async def aclose(self) -> None:
        await self._session.close()

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        base_url: str | None = None,
    ) -> aiohttp.ClientResponse:
        """Send one call; the caller reads and releases the response. ``path`` is already allow-listed.

        ``base_url``: the session's own tenant host (the pod that issued its token); None: the configured one.

        Raises TenantTimeout when the tenant is slower than the timeout, TenantUnavailable when it cannot
        be reached or drops the connection. aiohttp retries a call on a reused connection that the tenant had
        closed only for idempotent methods, so a POST is never sent twice.
        """
        target = (base_url or self.base_url) + path
        if query:
            target += "?" + query
        try:
            return await self._session.request(
                method,
                # encoded=True: the path and query go out exactly as they were checked, never re-spelled.
                URL(target, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                compress=False,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise tenant_error(exc, f"calling {path}") from exc


class TracedUpstream:
    """An :class:`Upstream` whose every call runs inside ``trace`` (a CLIENT span, ``traceparent`` out).

    A wrapper, so that with tracing off the proxy's per-call path has nothing added to it.
    """

    def __init__(
        self,
        upstream: ProxyUpstream,
        trace: TraceHook,
        *,
        route: str = "/api/{path}",
        name: str | None = None,
    ) -> None:
        self.inner = upstream
        self.trace = trace
        #: The calls' route template, and the upstream of ``BFF_UPSTREAMS`` they go to (None: the tenant).
        self.route = route
        self.name = name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: Body = None,
        base_url: str | None = None,
    ) -> aiohttp.ClientResponse:
        with self.trace("proxy", method, route=self.route, upstream=self.name) as span:
            # Ours replace any the browser sent: the tenant sees the BFF's span as its parent.
            headers[:] = [(k, v) for k, v in headers if k.lower() not in ("traceparent", "tracestate")]
            headers.extend(span.headers.items())
            response = await self.inner.send(method, path, query, headers, body, base_url)
            span.answered(response.status)
            return response


def tenant_error(exc: TimeoutError | aiohttp.ClientError, doing: str) -> TenantError:
    """The tenant error for an aiohttp failure while ``doing``: too slow (504) or unreachable (502)."""
    # A timeout first: aiohttp's own timeouts are ClientErrors too.
    if isinstance(exc, TimeoutError):
        return TenantTimeout(f"tenant too slow {doing}")
    return TenantUnavailable(f"tenant connection failed {doing}: {type(exc).__name__}")


class translated:
    """Turns aiohttp's failures in the block into :func:`tenant_error` (a class: cheaper than contextmanager).

    For an answer whose headers :meth:`Upstream.send` gave back: its body can still stall or break off.
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            return
        if isinstance(exc, (TimeoutError, aiohttp.ClientError)):
            raise tenant_error(exc, "reading the answer") from exc
