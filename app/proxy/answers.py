"""Error answers sent straight over ASGI (the proxy runs outside FastAPI), in the one documented shape.

Example::

    await send_error(send, NotAllowed())  # 403 {"error": "not_allowed", "message": "..."}
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import Send

from app.errors import BFFError, error_body

Header = tuple[bytes, bytes]


def error_message(exc: BFFError, extra_headers: Sequence[Header] = ()) -> tuple[bytes, list[Header]]:
    """The JSON body of ``exc`` (via :func:`app.errors.error_body`) and the headers that go with it."""
    body = json.dumps(error_body(exc), separators=(",", ":")).encode()
    headers: list[Header] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
        (b"cache-control", b"no-store"),
    ]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers().items()]
    headers += extra_headers
    return body, headers


async def send_error(send: Send, exc: BFFError, extra_headers: Sequence[Header] = ()) -> None:
    """Answer ``exc`` with its status, JSON body and headers (plus ``extra_headers``)."""
    body, headers = error_message(exc, extra_headers)
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
