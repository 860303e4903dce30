"""The connection to the tenant: what both its clients share, and the proxy's data plane client.

Example::

    upstream = Upstream.from_settings(settings)  # inside a running event loop (the lifespan)
    response = await upstream.send("POST", "/UPRest/GetUPData", "", headers, body=b"{}")
    chunk = await response.read()                # TenantTimeout / TenantUnavailable when the tenant fails
    response.release()
    await upstream.aclose()

Both tenant clients, the login flow's (httpx, :class:`~app.identity.client.TenantClient`) and the proxy's
(:class:`Upstream`, one :class:`~app.origin.OriginClient` per tenant host), take their TLS set-up from
:func:`tls_context`, their timeout from ``CYBERARK_TIMEOUT`` and send :data:`NATIVE_CLIENT` on every call.

Why not the httpx client the login flow uses: the proxy is the hot path, and on this project's 2-vCPU box
(the peers harness's RESULTS.md, 2026-11-21) a plain-ASGI proxy reached only 0.25x the Node peer's req/s
with httpx (httpcore's pool bookkeeping is quadratic in open connections). aiohttp's client did 1.23x, and
cost a third of a proxied call's instructions; the origin client (llhttp, as Node itself uses, under a
protocol of its own) does the same work for a fraction of that (docs/performance.md).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable
from typing import TYPE_CHECKING, Any, Protocol

from app.settings import Settings

if TYPE_CHECKING:
    from app.observe.trace_hook import TraceHook
    from app.origin.client import OriginClient
    from app.origin.connection import OriginResponse

#: Sent with every call to the tenant, as CyberArk's own clients send them.
NATIVE_CLIENT = (("X-IDAP-NATIVE-CLIENT", "true"), ("X-CENTRIFY-NATIVE-CLIENT", "true"))

#: Tenant hosts (the configured one and its pods) a proxy keeps a client for; past this, the least recently
#: added pod's client is closed (pods are a handful per tenant; this only bounds a misbehaving one).
MAX_ORIGINS = 16

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
        headers: list[tuple[bytes, bytes]],
        body: Body = None,
        base_url: str | None = None,
        *,
        length: int | None = None,
    ) -> OriginResponse: ...

    async def aclose(self) -> None: ...


class Upstream:
    """``await Upstream(base_url, timeout=10).send(method, path, query, headers)`` -> an OriginResponse."""

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
        self._ssl = ssl_context
        self._pool_size = pool_size
        # Keyed by the base URL as sessions name it (the configured one, or a pod's): the base path, if
        # any, goes in front of every path.
        self._clients: dict[str, tuple[OriginClient, bytes]] = {}
        self._client(self.base_url)

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream:
        """The client for ``CYBERARK_TENANT_URL`` with ``CYBERARK_TIMEOUT`` and ``CYBERARK_CA_BUNDLE``."""
        return cls(settings.tenant_url, timeout=settings.cyberark_timeout, ssl_context=tls_context(settings))

    def _client(self, base_url: str) -> tuple[OriginClient, bytes]:
        found = self._clients.get(base_url)
        if found is not None:
            return found
        # Imported here: the login client imports this module for NATIVE_CLIENT and tls_context alone.
        from app.origin.client import OriginClient

        if len(self._clients) >= MAX_ORIGINS:
            # The configured tenant's client (the first) stays; the oldest pod's goes.
            oldest = next(k for k in self._clients if k != self.base_url)
            client, _ = self._clients.pop(oldest)
            client.close()
        client = OriginClient(
            base_url, timeout=self.timeout, ssl_context=self._ssl, pool_size=self._pool_size or 64
        )
        prefix = base_url.split("://", 1)[1].partition("/")[2].rstrip("/")
        found = self._clients[base_url] = (client, ("/" + prefix).encode("ascii") if prefix else b"")
        return found

    async def aclose(self) -> None:
        for client, _ in self._clients.values():
            await client.aclose()
        self._clients.clear()

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[bytes, bytes]],
        body: Body = None,
        base_url: str | None = None,
        *,
        length: int | None = None,
    ) -> OriginResponse:
        """Send one call; the caller reads and releases the response. ``path`` is already allow-listed.

        ``base_url``: the session's own tenant host (the pod that issued its token); None: the configured one.
        ``length``: a streamed body's declared length (sent as Content-Length; chunked without it).

        Raises TenantTimeout when the tenant is slower than the timeout, TenantUnavailable when it cannot
        be reached or drops the connection. A call on a pooled connection the tenant had closed is sent again
        only for idempotent methods, so a POST is never sent twice.
        """
        client, prefix = self._client(base_url.rstrip("/") if base_url else self.base_url)
        # The path and query go out exactly as they were checked, never re-spelled.
        target = prefix + path.encode("ascii")
        if query:
            target += b"?" + query.encode("ascii")
        return await client.request(method.encode("ascii"), target, headers, body, length=length)


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
        headers: list[tuple[bytes, bytes]],
        body: Body = None,
        base_url: str | None = None,
        *,
        length: int | None = None,
    ) -> OriginResponse:
        with self.trace("proxy", method, route=self.route, upstream=self.name) as span:
            # Ours replace any the browser sent: the tenant sees the BFF's span as its parent.
            headers[:] = [(k, v) for k, v in headers if k.lower() not in (b"traceparent", b"tracestate")]
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in span.headers.items())
            response = await self.inner.send(method, path, query, headers, body, base_url, length=length)
            span.answered(response.status)
            return response
