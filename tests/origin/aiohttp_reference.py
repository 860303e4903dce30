"""The proxy's previous tenant client (aiohttp, exactly as it was configured), behind the origin client's
interface: the reference the differential test compares the new client against. Test-only; aiohttp is a dev
dependency for this alone.

Example::

    monkeypatch.setattr("app.proxy.forward.Upstream", AiohttpUpstream)   # before the BFF's lifespan runs
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable

import aiohttp
from yarl import URL

from app.errors import TenantError, TenantTimeout, TenantUnavailable
from app.identity.upstream import tls_context
from app.settings import Settings


def _error(exc: BaseException) -> TenantError:
    if isinstance(exc, TimeoutError):
        return TenantTimeout("tenant too slow")
    return TenantUnavailable(f"tenant connection failed: {type(exc).__name__}")


class AiohttpResponse:
    """An aiohttp response read the way the proxy read it before (``readany`` until ``at_eof``)."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.status = response.status
        self.headers = list(response.raw_headers)

    def header(self, name: bytes) -> bytes | None:
        value = self._response.headers.get(name.decode("latin-1"))
        return None if value is None else value.encode("latin-1")

    @property
    def exhausted(self) -> bool:
        return self._response.content.at_eof()

    async def read(self) -> bytes:
        try:
            return await self._response.content.readany()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _error(exc) from exc

    def release(self) -> None:
        self._response.release()

    def close(self) -> None:
        self._response.close()


class AiohttpUpstream:
    """The old ``Upstream``: one aiohttp session, no jar, no decompression, connect and sock_read timeouts."""

    def __init__(self, base_url: str, *, timeout: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        connector = aiohttp.TCPConnector(
            limit=64, limit_per_host=0, keepalive_timeout=30.0, ssl=ssl_context if ssl_context else True
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
            auto_decompress=False,
            skip_auto_headers=frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"}),
            trust_env=False,
            raise_for_status=False,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AiohttpUpstream:
        return cls(settings.tenant_url, timeout=settings.cyberark_timeout, ssl_context=tls_context(settings))

    async def aclose(self) -> None:
        await self._session.close()

    async def send(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes] | None = None,
        base_url: str | None = None,
        *,
        length: int | None = None,
    ) -> AiohttpResponse:
        target = (base_url or self.base_url) + path + ("?" + query if query else "")
        sent = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
        if length is not None:
            sent.append(("Content-Length", str(length)))
        try:
            response = await self._session.request(
                method,
                URL(target, encoded=True),
                headers=sent,
                data=body,
                allow_redirects=False,
                compress=False,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _error(exc) from exc
        return AiohttpResponse(response)
