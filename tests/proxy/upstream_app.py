"""A tiny test-only tenant (plain ASGI) for what the simulator has no endpoint for: big and gated streams,
uploads it can measure, tricky response headers, answers that break off.

Example::

    state = UpstreamState()
    with ServerThread(upstream_app(state)) as server:
        ...  # GET {server.url}/big?size=5000000
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

CHUNK = 64 * 1024


def pattern(size: int) -> bytes:
    """``size`` deterministic bytes (so a test can compare hashes without keeping both copies around)."""
    block = bytes(range(256)) * (CHUNK // 256)
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


@dataclass
class UpstreamState:
    """What the upstream saw; ``gate`` holds /big after its first MiB until the test sets it."""

    gate: threading.Event = field(default_factory=threading.Event)
    received: int = 0
    started: list[dict[str, Any]] = field(default_factory=list)
    completed: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.gate.clear()
            self.received = 0
            self.started.clear()
            self.completed.clear()


def upstream_app(state: UpstreamState) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                await send({"type": event + ".complete"})
                if event == "lifespan.shutdown":
                    return
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen = {"method": scope["method"], "path": scope["path"], "headers": headers}
        with state.lock:
            state.started.append(seen)
        digest = hashlib.sha256()
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # an incomplete request is never "completed"
            chunk = message.get("body", b"")
            digest.update(chunk)
            size += len(chunk)
            with state.lock:
                state.received += len(chunk)
            if not message.get("more_body", False):
                break
        seen.update(size=size, sha256=digest.hexdigest())
        with state.lock:
            state.completed.append(seen)
        handler = _ROUTES.get(scope["path"], _echo)
        await handler(state, query, seen, send)

    return app


async def _json(send: Send, status: int, body: Any, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _echo(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    await _json(send, int(query.get("status", "200")), {"success": True, "Result": seen})


async def _big(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    """``size`` bytes, chunked (no Content-Length); with ``gated=1`` it waits after the first MiB."""
    size = int(query["size"])
    body = pattern(size)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/x-test")]}
    )
    for offset in range(0, size, CHUNK):
        if query.get("gated") and offset == 1024 * 1024:
            # Only a proxy that streams lets the browser see the first MiB while the rest is held back here.
            released = await asyncio.to_thread(state.gate.wait, 10)
            if not released:
                return  # never finish: the test fails on the missing bytes
        await send({"type": "http.response.body", "body": body[offset : offset + CHUNK], "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def _headers(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    """End-to-end headers next to every kind the browser must not get."""
    await _json(
        send,
        200,
        {"success": True, "Result": {}},
        [
            (b"set-cookie", b".ASPXAUTH=tenant-token; Path=/; HttpOnly"),
            (b"set-cookie", b"CCSID=device; Path=/"),
            (b"connection", b"keep-alive, x-hop-named"),
            (b"x-hop-named", b"hop"),
            (b"keep-alive", b"timeout=5"),
            (b"proxy-authenticate", b"Basic"),
            (b"upgrade", b"h2c"),
            (b"access-control-allow-origin", b"*"),
            (b"strict-transport-security", b"max-age=1"),
            (b"x-request-id", b"tenant-own-id"),
            (b"server", b"TenantServer/1.0"),
            (b"x-tenant-thing", b"kept"),
            (b"cache-control", b"private, max-age=5"),
            (b"etag", b'"v1"'),
            (b"content-language", b"en"),
            (b"x-content-type-options", b"tenant-own"),
        ],
    )


async def _reject(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    await _json(send, 200, {"success": False, "Result": None, "Message": "Not authenticated"})


#: What ``/compressed`` sends, by its ``body`` parameter.
COMPRESSED_BODIES = {
    "reject": {"success": False, "Result": None, "Message": "Not authenticated"},
    "ok": {"success": True, "Result": {"Apps": []}},
}


def compress(raw: bytes, encoding: str) -> bytes:
    """``raw`` in ``encoding``: gzip, deflate (zlib-wrapped, as RFC 9110 means it) or raw-deflate."""
    if encoding == "gzip":
        return gzip.compress(raw)
    if encoding == "deflate":
        return zlib.compress(raw)
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(raw) + packer.flush()


async def _compressed(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    """A JSON ``body`` (see COMPRESSED_BODIES) compressed with ``encoding``, as a tenant server may."""
    encoding = query.get("encoding", "gzip")
    raw = compress(json.dumps(COMPRESSED_BODIES[query.get("body", "reject")]).encode(), encoding)
    header = b"deflate" if encoding == "raw-deflate" else encoding.encode()
    await send(
        {
            "type": "http.response.start",
            "status": int(query.get("status", "200")),
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-encoding", header),
                (b"content-length", str(len(raw)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def _break(state: UpstreamState, query: dict[str, str], seen: dict[str, Any], send: Send) -> None:
    """Promises ``size`` bytes, sends ``sent`` of them, then ends the connection."""
    size, sent = int(query["size"]), int(query["sent"])
    headers = [(b"content-type", b"application/x-test"), (b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": pattern(sent), "more_body": True})
    # Returning without the rest makes uvicorn close the connection: the "tenant" broke off.


_ROUTES = {
    "/big": _big,
    "/headers": _headers,
    "/reject": _reject,
    "/break": _break,
    "/compressed": _compressed,
}
