"""Waiting for what a server does after its answer has gone out (the access line, a span's end).

A client has the whole answer before the server's ASGI call returns, so a test that reads the log or the
span exporter right away races the server's last steps. ``await settled(check)`` polls ``check`` until it
holds or ``timeout`` passes; the test's own assertions then say what was expected, unchanged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def settled(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Return once ``check()`` is true, or after ``timeout`` seconds (the caller then asserts)."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
