"""The browser's request body from ASGI ``receive``, under a size limit, a deadline and its declared length.

Example::

    deadlines = Deadlines(loop)  # one per proxy, made in the lifespan
    body = RequestBody(receive, 1024 * 1024, preread=65536, deadline=loop.time() + 30, declared=15)
    content = await body.start(deadlines)  # bytes when it fits in ``preread``, else an async iterator

``start`` returns only once the whole body, or its first ``preread`` bytes, have arrived: the proxy calls it
before it takes a tenant connection, so a browser that trickles a small body ties up nothing the other users'
calls need. Every wait for a chunk ends at ``deadline`` (``BodyTimeout``, 408), in the stream too.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

from starlette.types import Receive

from app.errors import BodyTimeout, BodyTooLarge, InvalidRequest


class BrowserGone(Exception):
    """The browser disconnected before its body was complete: nobody is left to answer."""


class Deadlines:
    """One timer for every request body being waited for, instead of one per wait.

    ``asyncio.timeout`` makes a Timeout object and pushes a TimerHandle onto the loop's heap (and cancels it
    again) on every use, a measurable share of a proxied call (``python -m bench.instructions``); here a wait
    costs a dict insert and delete, and the loop's timer fires only when the earliest deadline is due.
    A body past its deadline has its task cancelled, which its wait turns into ``BodyTimeout``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._waiting: dict[RequestBody, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def __len__(self) -> int:
        return len(self._waiting)

    def watch(self, body: RequestBody) -> None:
        self._waiting[body] = None
        if body.deadline < self._timer_at:
            self._schedule(body.deadline)

    def drop(self, body: RequestBody) -> None:
        self._waiting.pop(body, None)

    def _schedule(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_at(when, self._expire)
        self._timer_at = when

    def _expire(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        now = self.loop.time()
        earliest = math.inf
        for body in list(self._waiting):
            if body.deadline <= now:
                del self._waiting[body]
                body.expire()
            else:
                earliest = min(earliest, body.deadline)
        if earliest < math.inf:
            self._schedule(earliest)


class RequestBody:
    """``RequestBody(receive, limit, preread=..., deadline=..., declared=...)``: a checked request body.

    The flags say why a stream stopped when the tenant call reports only a failed upload.
    """

    def __init__(
        self, receive: Receive, limit: int, *, preread: int, deadline: float, declared: int | None
    ) -> None:
        self._receive = receive
        self.limit = limit
        self.preread = preread
        #: Loop time by which the whole body must have arrived.
        self.deadline = deadline
        self.declared = declared
        self.received = 0
        #: Set when the stream went over the limit after it had started: the proxy answers 413 then.
        self.too_large = False
        self.timed_out = False
        #: The body came out longer or shorter than its Content-Length: the proxy answers 400.
        self.invalid = False
        self.gone = False
        self._waiter: asyncio.Task[object] | None = None

    def expire(self) -> None:
        """Called by Deadlines when the deadline passed during a wait: end that wait."""
        self.timed_out = True
        if self._waiter is not None:
            self._waiter.cancel()

    async def start(self, deadlines: Deadlines) -> bytes | AsyncIterator[bytes]:
        """The whole body when it is at most ``preread`` bytes, else a stream that starts with what came."""
        chunks: list[bytes] = []
        more = True
        while more and self.received < self.preread:
            chunk, more = await self._watched_next(deadlines)
            chunks.append(chunk)
        if not more:
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return self._stream(chunks, deadlines)

    async def _watched_next(self, deadlines: Deadlines) -> tuple[bytes, bool]:
        """The next chunk, waited for under the body's deadline (BodyTimeout when it passes).

        Watched per wait, not across a yield: the origin client's writes run between the waits, and a
        cancellation must land in the wait for the browser, never in the client's own awaits.
        """
        # The loop given: without it, current_task asks for the running loop, which checks the process id
        # (two getpid system calls per call).
        self._waiter = asyncio.current_task(deadlines.loop)
        deadlines.watch(self)
        try:
            return await self._next()
        except asyncio.CancelledError:
            # The deadline's own cancellation becomes BodyTimeout; anyone else's stays a cancellation.
            if self.timed_out and self._waiter is not None:
                self._waiter.uncancel()
                raise BodyTimeout() from None
            raise
        finally:
            deadlines.drop(self)
            self._waiter = None

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
        more = bool(message.get("more_body", False))
        # Checked before the chunk is passed on: with a forwarded Content-Length, the tenant then gets
        # either exactly the declared bytes or a request that breaks off, never a second request smuggled
        # behind the first. (uvicorn frames by Content-Length itself; this holds whatever server runs us.)
        declared = self.declared
        if declared is not None and (self.received > declared or (not more and self.received != declared)):
            self.invalid = True
            raise InvalidRequest()
        return chunk, more

    async def _stream(self, first: list[bytes], deadlines: Deadlines) -> AsyncIterator[bytes]:
        for chunk in first:
            if chunk:
                yield chunk
        more = True
        while more:
            chunk, more = await self._watched_next(deadlines)
            if chunk:
                yield chunk
