"""An HTTP/1.1 client for one origin, for a proxy's data plane: a keep-alive pool on ``asyncio.Protocol``.

Example::

    client = OriginClient("https://tenant.example.com", timeout=10, ssl_context=context, pool_size=64)
    response = await client.request(b"POST", b"/UPRest/GetUPData", [(b"content-type", b"application/json")],
                                    b"{}")
    while chunk := await response.read():
        ...
    response.release()                       # back to the pool once read to the end
    await client.aclose()                    # in the lifespan's end

One client per origin (scheme, host, port), made in the app's lifespan (it needs the running loop) and closed
there. It sends exactly the headers it
is given plus ``Host`` and the body's framing (``Content-Length``, or chunked for a stream of unknown
length); it adds no User-Agent, Accept or cookies and decodes nothing, so the caller forwards the origin's
bytes as they came. Every header line going out is checked (a token for a name, no CR, LF or NUL in a value)
and every one coming in is parsed by llhttp in strict mode (:mod:`app.origin.connection`).

Timeouts: ``connect_timeout`` seconds (``timeout`` unless given) for waiting for room in the pool and
connecting (TCP and TLS), then ``timeout`` seconds for each wait for the answer's head and for every later
piece of its body (a long download that keeps flowing is never cut), and for each wait of a streamed upload
on a slow reader. Past one: :class:`~app.errors.TenantTimeout` (504); a connection that cannot be made
or breaks: :class:`~app.errors.TenantUnavailable` (502).

The pool: at most ``pool_size`` connections; callers beyond it wait in FIFO order. The most recently used
idle connection is taken first. An idle connection is dropped after ``keepalive`` seconds, or one second
before the origin's own ``Keep-Alive: timeout=N`` when it names a shorter one, so the origin is never the one
to close it under a new request. If a pooled connection still turns out closed before any byte of the answer
came back, an idempotent request with a body in hand (GET, HEAD, OPTIONS, PUT, DELETE) is sent once more on
a new connection; a POST never is (the origin may have acted on it). A connection whose answer was not read
to the end, was cancelled, or carried bytes outside its answer is closed, never pooled.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import deque
from collections.abc import AsyncIterable
from urllib.parse import urlsplit

from app.errors import TenantTimeout, TenantUnavailable
from app.origin.connection import Connection, OriginResponse, StaleConnection

#: Connections per origin: beyond this a call waits for a free one rather than opening more (the peers
#: harness found a small pool faster than a large one on loopback: fewer sockets to poll per loop turn).
POOL_SIZE = 64
#: Seconds an idle connection is kept for reuse, unless the origin names a shorter keep-alive.
KEEPALIVE_SECONDS = 15.0
#: Kept below the origin's own keep-alive timeout: it closes idle connections at that mark.
_KEEPALIVE_MARGIN = 1.0
#: Methods sent again once when a pooled connection turns out closed (RFC 9110 §9.2.2).
IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
# Methods whose empty body is still announced (Content-Length: 0), as browsers and aiohttp do.
_BODY_METHODS = frozenset({b"POST", b"PUT", b"PATCH"})

# Header lines the caller gives, all at once: RFC 9110 token names, values without CR, LF or NUL.
_HEADER_LINES = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\x00\r\n]*\r\n)*")
# The request target: visible ASCII only (no space, no control).
_TARGET = re.compile(rb"[!-~]+")
#: Framing and hop-by-hop headers are this client's to write, never the caller's.
_OWN_HEADERS = frozenset(
    {b"host", b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"upgrade", b"te"}
)

Body = bytes | AsyncIterable[bytes] | None


class OriginClient:
    """``OriginClient(origin, timeout=..., ssl_context=..., pool_size=..., keepalive=...)``."""

    def __init__(
        self,
        origin: str,
        *,
        timeout: float,
        connect_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        pool_size: int = POOL_SIZE,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("origin must be an http:// or https:// URL with a host")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        #: None for http://; for https://, the context given or the system's trust store.
        self.ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.ssl = ssl_context if ssl_context is not None else ssl.create_default_context()
        #: Seconds for the answer's head and for every later gap in its body.
        self.timeout = timeout
        #: Seconds for a connection: waiting for the pool's room and connecting (TCP and TLS) together.
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.pool_size = pool_size
        self.keepalive = keepalive
        host = parts.netloc.rpartition("@")[2]
        self._host_line = b"Host: " + host.encode("idna" if not host.isascii() else "ascii") + b"\r\n"
        self.loop = asyncio.get_running_loop()
        self._idle: list[Connection] = []
        self._open: set[Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def connections(self) -> int:
        """Connections open now (idle or in use)."""
        return len(self._open)

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def aclose(self) -> None:
        """Close every connection; calls after this fail as TenantUnavailable."""
        self.close()

    def close(self) -> None:
        """:meth:`aclose`, for a caller outside a coroutine (nothing in it waits)."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._open):
            connection.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(TenantUnavailable("client closed"))

    async def request(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: Body = None,
        *,
        length: int | None = None,
    ) -> OriginResponse:
        """Send one request; the answer once its head is in (read its body, then release or close it).

        ``target``: path and query, sent exactly as given. ``body``: bytes, or a stream (an async iterable;
        with ``length``, sent as that Content-Length, else chunked). An exception from the stream (the
        browser's body failing) closes the connection and propagates as it is.
        """
        if not _TARGET.fullmatch(target):
            raise ValueError("request target must be visible ASCII")
        lines = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
        # One line per header (a value holding CR LF would make two valid-looking ones), each well-formed.
        if lines.count(b"\n") != len(headers) or not _HEADER_LINES.fullmatch(lines):
            raise ValueError("header names must be tokens and values free of CR, LF and NUL")
        for name, _ in headers:
            if name.lower() in _OWN_HEADERS:
                raise ValueError("framing headers are the client's own")
        head = method + b" " + target + b" HTTP/1.1\r\n" + self._host_line + lines
        if body is None or isinstance(body, bytes):
            if body or method in _BODY_METHODS:
                head += b"Content-Length: %d\r\n" % len(body or b"")
            message = head + b"\r\n" + body if body else head + b"\r\n"
            try:
                return await self._exchange(method, message)
            except StaleConnection:
                if method not in IDEMPOTENT:
                    raise
                return await self._exchange(method, message, fresh=True)
        if length is not None:
            head += b"Content-Length: %d\r\n\r\n" % length
        else:
            head += b"Transfer-Encoding: chunked\r\n\r\n"
        return await self._stream(method, head, body, length)

    async def _exchange(self, method: bytes, message: bytes, fresh: bool = False) -> OriginResponse:
        connection, reused = await self._acquire(fresh)
        response = connection.start(method, reused)
        try:
            connection.write(message)
            await connection.wait_head(response, self.timeout)
        except BaseException:
            connection.close()
            raise
        return response

    async def _stream(
        self, method: bytes, head: bytes, body: AsyncIterable[bytes], length: int | None
    ) -> OriginResponse:
        chunked = length is None
        connection, reused = await self._acquire(False)
        response = connection.start(method, reused)
        try:
            connection.write(head)
            sent = 0
            async for chunk in body:
                if connection.head_done:
                    # The origin answered before the upload ended: it wants no more of it, and the connection
                    # is left mid-request, so it is closed after this answer.
                    connection.spoil()
                    break
                if not chunk:
                    continue
                sent += len(chunk)
                if length is not None and sent > length:
                    raise ValueError("request body longer than its length")
                connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                await connection.drain(self.timeout)
            else:
                if chunked:
                    connection.write(b"0\r\n\r\n")
                elif sent != length:
                    raise ValueError("request body shorter than its length")
            await connection.wait_head(response, self.timeout)
        except BaseException:
            connection.close()
            raise
        return response

    async def _acquire(self, fresh: bool) -> tuple[Connection, bool]:
        """A connection: an idle one (True), else a new one (False) once the pool has room."""
        if self._closed:
            raise TenantUnavailable("client closed")
        if not fresh:
            idle = self._idle
            now = self.loop.time()
            while idle:
                connection = idle.pop()
                if connection.closed:
                    continue
                if connection.idle_until > now:
                    return connection, True
                connection.close()
        if len(self._open) + self._opening >= self.pool_size:
            got = await self._wait_for_room()
            if got is not None:
                if not fresh:
                    return got, True
                got.close()
        return await self._connect(), False

    async def _wait_for_room(self) -> Connection | None:
        """Wait (FIFO) for a released connection, or for room to open one (None)."""
        waiter: asyncio.Future[Connection | None] = self.loop.create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await waiter
        except BaseException as exc:
            # Handed a connection (or room) just as the wait ended: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is not None:
                    self.put_back(handed)
                else:
                    self._hand_room()
            else:
                waiter.cancel()
            if isinstance(exc, TimeoutError):
                raise TenantTimeout("no origin connection free in time") from None
            raise

    async def _connect(self) -> Connection:
        self._opening += 1
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await self.loop.create_connection(
                    lambda: Connection(self),
                    self.host,
                    self.port,
                    ssl=self.ssl,
                    server_hostname=self.host if self.ssl is not None else None,
                )
        except TimeoutError:
            self._opening -= 1
            self._hand_room()
            raise TenantTimeout("origin connect timed out") from None
        except OSError as exc:  # refused, unreachable, TLS verification (ssl.SSLError is an OSError)
            self._opening -= 1
            self._hand_room()
            raise TenantUnavailable(f"origin connect failed: {type(exc).__name__}") from exc
        except BaseException:
            self._opening -= 1
            self._hand_room()
            raise
        self._opening -= 1
        if self._closed:
            connection.close()
            raise TenantUnavailable("client closed")
        self._open.add(connection)
        return connection

    # --- called by connections ----------------------------------------------------------------------------

    def put_back(self, connection: Connection) -> None:
        """A connection whose answer was read to the end: to the next waiter, or idle."""
        if self._closed or connection.closed:
            connection.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                connection.response = None
                waiter.set_result(connection)
                return
        connection.response = None
        keepalive = self.keepalive
        hint = connection.keep_alive_hint
        if hint is not None and hint - _KEEPALIVE_MARGIN < keepalive:
            keepalive = hint - _KEEPALIVE_MARGIN
        if keepalive <= 0:
            connection.close()
            return
        connection.idle_until = self.loop.time() + keepalive
        self._idle.append(connection)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(keepalive, self._sweep)

    def forget(self, connection: Connection) -> None:
        """A connection closed: out of the pool, and its room to whoever waits."""
        if connection in self._open:
            self._open.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)
            self._hand_room()

    def _hand_room(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Close idle connections past their time (so they never linger open until the origin's close)."""
        self._sweeper = None
        now = self.loop.time()
        kept = []
        for connection in self._idle:
            if connection.closed:
                continue
            if connection.idle_until <= now:
                connection.close()
            else:
                kept.append(connection)
        self._idle = kept
        if kept and not self._closed:
            self._sweeper = self.loop.call_at(min(c.idle_until for c in kept), self._sweep)
