"""The access line written directly is the line the JSON formatter writes, and goes through logging whenever
anything else (pytest's capture, another handler, a filter) could see the record."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.observe.access import AccessLines, AccessMiddleware, access_log
from app.observe.logs import JsonFormatter
from app.observe.metrics import Metrics


def formatter_line(created: float, quiet: bool, **fields: object) -> str:
    record = access_log.makeRecord(
        access_log.name, logging.DEBUG if quiet else logging.INFO, "", 0, "request", (), None, extra=fields
    )
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return JsonFormatter().format(record) + "\n"


@given(
    created=st.floats(min_value=0, max_value=4e9),
    quiet=st.booleans(),
    request_id=st.text(),
    method=st.text(),
    route=st.text(),
    status=st.integers(min_value=100, max_value=599),
    duration_ms=st.floats(min_value=0, max_value=1e7).map(lambda f: round(f, 2)),
    session=st.none() | st.text(),
    upstream=st.none() | st.text(),
)
def test_the_direct_line_is_the_formatters_line(
    created: float,
    quiet: bool,
    request_id: str,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    session: str | None,
    upstream: str | None,
) -> None:
    # Quotes, backslashes, controls, non-ASCII and lone surrogates: escaped as the formatter does.
    direct = AccessLines().line(
        created, quiet, request_id, method, route, status, duration_ms, session, upstream
    )
    fields: dict[str, object] = {
        "request_id": request_id,
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "session": session,
    }
    if upstream is not None:  # a call to an upstream of BFF_UPSTREAMS names it; others have no such field
        fields["upstream"] = upstream
    assert direct == formatter_line(created, quiet, **fields)


class CountingStream(io.StringIO):
    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@contextmanager
def json_root(*others: logging.Handler) -> Iterator[CountingStream]:
    """The root logger as configure_logging leaves it (one JSON stream handler), writing to a buffer; entered
    inside the test, since pytest adds its own capture handlers to the root around the test's call."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler, *others]
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.handlers[:] = saved
        root.setLevel(level)


async def serve(path: str) -> None:
    async def app(scope: object, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def send(message: object) -> None:
        return None

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "bff_route": path}
    await AccessMiddleware(app, Metrics())(scope, receive, send)


async def test_lines_go_straight_to_the_json_handlers_stream_once_per_loop_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_record(*args: object, **kwargs: object) -> None:
        raise AssertionError("the access line went through logging")

    monkeypatch.setattr(access_log, "makeRecord", no_record)
    with json_root() as stream:
        # Two requests finishing in one loop turn: their lines go out together at its end.
        await asyncio.gather(serve("/a"), serve("/b"))
        await asyncio.sleep(0)
        assert stream.writes == 1
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert [(x["route"], x["status"], x["logger"], x["level"]) for x in lines] == [
            ("/a", 204, "bff.access", "info"),
            ("/b", 204, "bff.access", "info"),
        ]
        # Probes stay at DEBUG: not written at INFO.
        await serve("/healthz")
        await asyncio.sleep(0)
        assert len(stream.getvalue().splitlines()) == 2


async def test_anything_else_listening_gets_the_record_through_logging() -> None:
    records: list[logging.LogRecord] = []

    class Listener(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    with json_root(Listener()) as stream:
        await serve("/c")
        await asyncio.sleep(0)
        assert [getattr(r, "route", None) for r in records if r.name == "bff.access"] == ["/c"]
        assert json.loads(stream.getvalue())["route"] == "/c"
