"""The browser's request body, read from ASGI ``receive`` with a size limit, whole or as a stream.

Example::

    body = RequestBody(receive, limit=1024 * 1024)
    content = await body.start()  # bytes when it came in one piece, else an async iterator of chunks
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.types import Receive

from app.errors import BodyTooLarge


class BrowserGone(Exception):
    """The browser disconnected before its body was complete: nobody is left to answer."""


class RequestBody:
    """``RequestBody(receive, limit)``: at most ``limit`` bytes, one chunk in memory at a time."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0
        #: Set when the stream went over the limit after it had started: the proxy answers 413 then.
        self.too_large = False
        self.gone = False

    async def start(self) -> bytes | AsyncIterator[bytes]:
        """The whole body when the first message holds all of it (the usual small JSON), else a stream."""
        chunk, more = await self._next()
        if not more:
            return chunk
        return self._stream(chunk)

    async def _next(self) -> tuple[bytes, bool]:
        message = await self._receive()
        if message["type"] == "http.disconnect":
            self.gone = True
            raise BrowserGone()
        chunk: bytes = message.get("body", b"")
        self.received += len(chunk)
        if self.received > self.limit:
            self.too_large = True
            raise BodyTooLarge()
        return chunk, bool(message.get("more_body", False))

    async def _stream(self, first: bytes) -> AsyncIterator[bytes]:
        if first:
            yield first
        more = True
        while more:
            chunk, more = await self._next()
            if chunk:
                yield chunk
