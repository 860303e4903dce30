"""One HTTP/1.1 connection to an origin: an ``asyncio.Protocol`` with llhttp's response parser (httptools).

Example (what :class:`~app.origin.client.OriginClient` does with it)::

    connection = Connection(client)          # the protocol factory's product, once connected
    response = connection.start(b"GET", head, reused=False)
    await connection.wait_head(response, timeout)
    chunk = await response.read()

The parser runs in llhttp's strict mode (httptools sets no leniency unless asked): a Content-Length next to a
Transfer-Encoding, a bad chunk size, a bare CR or LF, an obs-fold or a space before a colon ends the
connection as a protocol error. On top of it this module refuses what llhttp lets through but a proxy must
not: a header line over ``MAX_FIELD_BYTES``, a head over ``MAX_HEAD_BYTES``, a NUL in a value, a
``101 Switching Protocols`` nobody asked for, and any byte the origin sends that is not part of the answer
to the request in flight (a second answer behind the first, data on an idle connection): such a connection
is closed, never pooled, so a smuggled answer can never reach another request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from app.errors import TenantError, TenantTimeout, TenantUnavailable

if TYPE_CHECKING:
    from app.origin.client import OriginClient

#: Bytes of status line and headers an answer may have (Node's client allows 16 KiB; aiohttp's had no bound).
MAX_HEAD_BYTES = 64 * 1024
#: Bytes of one header name or value (aiohttp's client's limit for a header line).
MAX_FIELD_BYTES = 8190
#: Body bytes buffered for a slow reader before the origin's socket stops being read.
HIGH_WATER = 256 * 1024


class StaleConnection(TenantUnavailable):
    """A pooled connection the origin had closed: nothing of the answer came back (retry is safe for
    idempotent requests whose body can be sent again)."""


class OriginResponse:
    """The answer to one request: ``status``, ``headers`` (raw pairs as received), the body by ``read()``.

    ``read()`` gives the body as it arrives (``b""`` once it is complete) and raises TenantTimeout when the
    origin goes quiet for longer than the read timeout, TenantUnavailable when it breaks off. ``release()``
    hands a fully read connection back to the pool; ``close()`` (or a release before the end) closes it.
    """

    __slots__ = ("status", "headers", "complete", "_connection", "_chunks", "_size", "_error", "_done")

    def __init__(self, connection: Connection) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        #: The whole body has been received (``read()`` may still hold some of it).
        self.complete = False
        self._connection = connection
        self._chunks: list[bytes] = []
        self._size = 0
        self._error: TenantError | None = None
        self._done = False

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (lower-case), or None."""
        for key, value in self.headers:
            if len(key) == len(name) and key.lower() == name:
                return value
        return None

    @property
    def exhausted(self) -> bool:
        """Everything has been received and read."""
        return self.complete and not self._chunks

    async def read(self) -> bytes:
        """The body bytes received since the last read, waiting for some; ``b""`` at the end."""
        if self._chunks:
            return self._take()
        if self.complete:
            return b""
        if self._error is not None:
            raise self._error
        connection = self._connection
        await connection.wait(self, connection.client.timeout)
        if self._chunks:
            return self._take()
        if self._error is not None:
            raise self._error
        return b""

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        if self._size > HIGH_WATER:
            self._connection.resume_reading()
        self._size = 0
        return data

    def release(self) -> None:
        """Done with the answer: its connection goes back to the pool if it can, else it is closed."""
        if self._done:
            return
        self._done = True
        connection = self._connection
        if self.complete and not self._chunks and connection.reusable:
            connection.client.put_back(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Done with the answer, read or not: its connection is closed."""
        if not self._done:
            self._done = True
            self._connection.close()


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time (no pipelining)."""

    def __init__(self, client: OriginClient) -> None:
        self.client = client
        self.loop = client.loop
        self.transport: asyncio.Transport | None = None
        self.parser = HttpResponseParser(self)
        self.response: OriginResponse | None = None
        #: Loop time after which the idle connection is not used again (set when it goes back to the pool).
        self.idle_until = 0.0
        #: Seconds the origin said it keeps an idle connection (``Keep-Alive: timeout=N``), or None.
        self.keep_alive_hint: float | None = None
        self.reusable = False
        self.closed = False
        self._spoiled = False
        self._reused = False
        self._head_done = False
        self._head_bytes = 0
        self._is_head = False
        self._interim = False
        self._length_framed = False
        self._chunked = False
        self._waiter: asyncio.Future[None] | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._read_paused = False

    # --- the exchange, driven by the client --------------------------------------------------------------

    def start(self, method: bytes, reused: bool) -> OriginResponse:
        """A new exchange on this connection; the caller writes the request next."""
        response = OriginResponse(self)
        self.response = response
        self.reusable = False
        self._reused = reused
        self._head_done = False
        self._head_bytes = 0
        self._is_head = method == b"HEAD"
        self._interim = False
        self._length_framed = False
        self._chunked = False
        return response

    def spoil(self) -> None:
        """The request was not sent whole: whatever the answer, the connection is not reused."""
        self._spoiled = True
        self.reusable = False

    def write(self, data: bytes) -> None:
        if self.transport is None or self.closed:
            raise self._lost_error()
        self.transport.write(data)

    @property
    def head_done(self) -> bool:
        return self._head_done

    async def drain(self, timeout: float) -> None:
        """Wait while the origin reads slower than the request body is sent (write flow control)."""
        if not self._write_paused or self.closed or self._head_done:
            return
        drain = self._drain = self.loop.create_future()
        timer = self.loop.call_later(timeout, _time_out, drain)
        try:
            await drain
        finally:
            timer.cancel()
            self._drain = None

    async def wait_head(self, response: OriginResponse, timeout: float) -> None:
        """Wait for the status line and headers of ``response`` (TenantTimeout after ``timeout`` s)."""
        while not self._head_done:
            if response._error is not None:
                raise response._error
            await self.wait(response, timeout)
        if response._error is not None and not response.complete and not response._chunks:
            raise response._error

    async def wait(self, response: OriginResponse, timeout: float) -> None:
        """Wait for anything to happen on ``response``: bytes, the end, an error, or ``timeout`` seconds."""
        waiter = self._waiter = self.loop.create_future()
        timer = self.loop.call_at(self.loop.time() + timeout, _time_out, waiter)
        try:
            await waiter
        except TenantTimeout as exc:
            response._error = exc
            self.close()
            raise
        except BaseException:
            # Cancelled mid-answer: the rest of it is still coming, so the connection cannot be reused.
            self.close()
            raise
        finally:
            timer.cancel()
            self._waiter = None

    def resume_reading(self) -> None:
        if self._read_paused and self.transport is not None and not self.closed:
            self._read_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        """Close now (abort: no lingering on unsent data); the pool forgets it."""
        if self.closed:
            return
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.abort()
        self.client.forget(self)

    # --- asyncio.Protocol ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is not an asyncio.Transport subclass, but has its methods).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None or response.complete:
            # Bytes nobody asked for: a second answer, or data on an idle connection. Never reuse it.
            self._fail(TenantUnavailable("origin sent bytes outside an answer"))
            return
        try:
            self.parser.feed_data(data)
        except HttpParserUpgrade:
            self._fail(TenantUnavailable("origin switched protocols"))
            return
        except HttpParserError:
            self._fail(TenantUnavailable("origin answer is not valid HTTP/1.1"))
            return
        if not self._head_done:
            # A head still incomplete: counted across reads (on_header counts the fields of a whole one).
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._fail(TenantUnavailable("origin answer head too large"))

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)

    # --- llhttp callbacks ---------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        response = self.response
        if response is None or response.complete:
            raise _Unsolicited()
        if self._interim:
            self._interim = False
            response.headers = []
            self._length_framed = self._chunked = False
        elif self._head_done:
            raise _Unsolicited()

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)
        self._head_bytes += size + len(value) + 4
        if (
            size > MAX_FIELD_BYTES
            or len(value) > MAX_FIELD_BYTES
            or self._head_bytes > MAX_HEAD_BYTES
            or b"\x00" in value
        ):
            raise _BadHeader()
        if size == 14 or size == 17 or size == 10:
            lower = name.lower()
            if lower == b"content-length":
                self._length_framed = True
            elif lower == b"transfer-encoding":
                self._chunked = value.rstrip().lower().endswith(b"chunked")
            elif lower == b"keep-alive":
                self.keep_alive_hint = _keep_alive_timeout(value)
        if self._head_done:
            return  # a chunked body's trailer fields: not headers of the answer (already sent on)
        assert self.response is not None  # noqa: S101 - on_message_begin checked it
        self.response.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            if status == 101:
                raise _Unsolicited()
            self._interim = True  # 100 Continue, 103 Early Hints: the final answer follows
            return
        response = self.response
        assert response is not None  # noqa: S101 - on_message_begin checked it
        response.status = status
        self._head_done = True
        if self._is_head:
            # llhttp cannot be told the answer to a HEAD has no body: the exchange ends here, and any byte
            # after the head is one nobody asked for.
            response.complete = True
            self.reusable = self.parser.should_keep_alive() and not self._spoiled
            self.parser = HttpResponseParser(self)
        self._wake()

    def on_body(self, body: bytes) -> None:
        response = self.response
        assert response is not None  # noqa: S101 - on_message_begin checked it
        if response.complete:
            raise _Unsolicited()
        response._chunks.append(body)
        response._size += len(body)
        if response._size > HIGH_WATER and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            return
        response = self.response
        assert response is not None  # noqa: S101 - on_message_begin checked it
        if response.complete:
            return
        response.complete = True
        self.reusable = self.parser.should_keep_alive() and not self._spoiled
        self._wake()

    # --- internals ----------------------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _lost_error(self) -> TenantUnavailable:
        if self._reused and self._head_bytes == 0:
            return StaleConnection("pooled connection closed by the origin")
        return TenantUnavailable("origin closed the connection")

    def _ended(self, exc: Exception | None) -> None:
        """The origin closed (or the connection broke): end the answer by it, or fail it."""
        response = self.response
        if response is not None and not response.complete:
            if self._head_done and not self._length_framed and not self._chunked and exc is None:
                # Neither Content-Length nor chunked: the body is delimited by the connection's end.
                response.complete = True
                self._wake()
            else:
                self._fail(self._lost_error())
        drain = self._drain
        if drain is not None and not drain.done():
            drain.set_result(None)
        if not self.closed:
            self.closed = True
            self.reusable = False
            self.client.forget(self)

    def _fail(self, error: TenantError) -> None:
        response = self.response
        if response is not None and not response.complete:
            response._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)
        self.close()


class _Unsolicited(Exception):
    """Parser callback: a message the request did not ask for."""


class _BadHeader(Exception):
    """Parser callback: a header this client refuses."""


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TenantTimeout("origin too slow"))


def _keep_alive_timeout(value: bytes) -> float | None:
    """``timeout=N`` of a ``Keep-Alive`` header, in seconds."""
    for part in value.split(b","):
        key, _, number = part.partition(b"=")
        if key.strip().lower() == b"timeout":
            try:
                return max(0.0, float(number.strip()))
            except ValueError:
                return None
    return None
