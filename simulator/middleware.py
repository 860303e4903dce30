"""ASGI middleware that logs every protocol call and plays the faults set via /_sim/faults.

It wraps the whole app (so faults reach bearer paths and unknown paths too) but leaves ``/_sim/`` alone.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.inbound import merge_headers
from simulator.state import Fault, SimState

_DROPPED_BODY = b'{"success": true, "Result": {"Summary": "'


class CallLogAndFaults:
    """``CallLogAndFaults(app, state)``: records each call in ``state.calls`` and applies ``state.faults``."""

    def __init__(self, app: ASGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self.app(scope, receive, send)
            return
        body, disconnected = await _read_body(receive)
        self.state.record_call(_describe(scope, body, self.state.now()))
        fault = self.state.take_fault(scope["path"])
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                await _drop(send)
                return
            if fault.status is not None:
                await _send_fault(send, fault)
                return
        await self.app(scope, _replay(body, disconnected, receive), send)


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _describe(scope: Scope, body: bytes, now: float) -> dict[str, Any]:
    text = body.decode("utf-8", "replace")
    try:
        parsed: Any = json.loads(text) if text else None
    except json.JSONDecodeError:
        parsed = None
    headers = merge_headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
    return {
        "method": scope["method"],
        "path": scope["path"],
        "headers": headers,
        "body": text,
        "json": parsed,
        "query": scope.get("query_string", b"").decode("latin-1"),
        "time": now,
    }


async def _send_fault(send: Send, fault: Fault) -> None:
    payload = fault.body.encode()
    headers = [
        (b"content-type", fault.content_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": fault.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})


async def _drop(send: Send) -> None:
    """Promise a body, send part of it, then stop: the server closes the connection mid-response."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _DROPPED_BODY, "more_body": True})
