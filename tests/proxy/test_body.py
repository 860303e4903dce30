"""RequestBody on its own, for what uvicorn never lets through (it frames by Content-Length itself): a body
longer or shorter than declared stops before the odd bytes are passed on; deadlines and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.errors import BodyTimeout, InvalidRequest
from app.proxy.body import Deadlines, RequestBody

KIB = 1024


def _receive(*chunks: bytes, then_wait: bool = False) -> Any:
    """An ASGI receive that hands out ``chunks`` (the last with more_body False unless ``then_wait``)."""
    messages = [
        {"type": "http.request", "body": chunk, "more_body": then_wait or i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Event().wait()  # a browser that sends nothing more
        raise AssertionError("unreachable")

    return receive


def _body(receive: Any, declared: int | None, timeout: float = 10.0) -> RequestBody:
    deadline = asyncio.get_running_loop().time() + timeout
    return RequestBody(receive, 1024 * KIB, preread=KIB, deadline=deadline, declared=declared)


async def _drain(stream: bytes | AsyncIterator[bytes], passed_on: list[bytes]) -> None:
    assert not isinstance(stream, bytes)
    async for chunk in stream:
        passed_on.append(chunk)


@pytest.mark.parametrize("sent", [b"x" * 5, b"x" * 15])
async def test_a_small_body_that_differs_from_its_content_length_is_invalid(sent: bytes) -> None:
    body = _body(_receive(sent), declared=10)
    with pytest.raises(InvalidRequest):
        await body.start(Deadlines(asyncio.get_running_loop()))
    assert body.invalid


@pytest.mark.parametrize(
    "chunks", [(b"a" * 1500, b"b" * 600), (b"a" * 1500, b"b" * 400)], ids=["longer", "shorter"]
)
async def test_a_streamed_body_stops_before_a_byte_past_or_short_of_its_length_goes_on(
    chunks: tuple[bytes, bytes],
) -> None:
    body = _body(_receive(*chunks), declared=2000)
    stream = await body.start(Deadlines(asyncio.get_running_loop()))
    passed_on: list[bytes] = []
    with pytest.raises(InvalidRequest):
        await _drain(stream, passed_on)
    assert passed_on == [chunks[0]]  # the odd last chunk never reached the tenant's side
    assert body.invalid


async def test_a_body_of_exactly_its_length_passes_whole_and_streamed() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    assert await _body(_receive(b"x" * 10), declared=10).start(deadlines) == b"x" * 10
    passed_on: list[bytes] = []
    await _drain(await _body(_receive(b"a" * 1500, b"b" * 500), declared=2000).start(deadlines), passed_on)
    assert passed_on == [b"a" * 1500, b"b" * 500]
    assert len(deadlines) == 0


async def test_a_body_that_stops_coming_times_out_before_and_after_the_pre_read() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    small = _body(_receive(b"x", then_wait=True), declared=1000, timeout=0.1)
    with pytest.raises(BodyTimeout):
        await small.start(deadlines)
    large = _body(_receive(b"x" * 2 * KIB, then_wait=True), declared=10 * KIB, timeout=0.1)
    with pytest.raises(BodyTimeout):
        await _drain(await large.start(deadlines), [])
    assert small.timed_out and large.timed_out and len(deadlines) == 0
    # The task goes on normally after a timeout: the deadline's cancellation was taken back.
    await asyncio.sleep(0)


async def test_a_cancellation_that_is_not_the_deadline_stays_a_cancellation() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    body = _body(_receive(b"x", then_wait=True), declared=1000)
    task = asyncio.create_task(body.start(deadlines))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not body.timed_out and len(deadlines) == 0
