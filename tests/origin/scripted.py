"""A scripted origin: a real TCP (or TLS) server on a free loopback port that answers each request with the
exact bytes a test gives, for framings and faults no well-behaved server produces.

Example::

    async with ScriptedOrigin(lambda request: answer(b"ok")) as origin:
        client = OriginClient(origin.url, timeout=2)
        ...
    origin.requests      # every request head (and body) it read, in order
    origin.connections   # connections accepted

An answer is bytes (written, then the connection is kept), or an ``Action``: bytes then close, silence, a
close without answering, or a slow body. Requests are read by their framing (Content-Length or chunked).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Action:
    """What to do with one request: ``send`` these bytes, then close, or wait ``hold`` seconds first."""

    send: bytes = b""
    close: bool = False
    #: Seconds to wait before sending (a slow head), or None.
    hold: float | None = None
    #: Pieces sent ``gap`` seconds apart after ``send`` (a slow body).
    trickle: list[bytes] = field(default_factory=list)
    gap: float = 0.0
    #: Seconds to stop reading the request body (so the client's writes back up).
    stall_reading: float = 0.0


@dataclass
class Request:
    head: bytes
    body: bytes


Script = Callable[[Request], "bytes | Action"]


class ScriptedOrigin:
    def __init__(self, script: Script, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.ssl_context = ssl_context
        self.requests: list[Request] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ScriptedOrigin:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request = Request(head, b"")
                action = self.script(request)
                if not isinstance(action, Action):
                    action = Action(send=action)
                if action.stall_reading:
                    await asyncio.sleep(action.stall_reading)
                request.body = await _read_body(reader, head)
                self.requests.append(request)
                if action.hold is not None:
                    await asyncio.sleep(action.hold)
                writer.write(action.send)
                for piece in action.trickle:
                    await writer.drain()
                    await asyncio.sleep(action.gap)
                    writer.write(piece)
                await writer.drain()
                if action.close:
                    writer.close()
                    return
        except (ConnectionError, asyncio.CancelledError):
            return  # the test is over (a cancelled handler would be logged as an error by asyncio)
        finally:
            self._handlers.discard(task)
            writer.close()


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lower = head.lower()
    if b"\r\ntransfer-encoding: chunked" in lower:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    marker = lower.find(b"\r\ncontent-length: ")
    if marker < 0:
        return b""
    length = int(lower[marker + 18 : lower.index(b"\r\n", marker + 2)])
    return await reader.readexactly(length)


def answer(body: bytes = b"ok", *headers: bytes, status: bytes = b"200 OK") -> bytes:
    """A well-framed answer with Content-Length."""
    lines = b"".join(h + b"\r\n" for h in headers)
    return b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body) + lines + b"\r\n" + body
