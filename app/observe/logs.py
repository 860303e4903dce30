"""Structured JSON logs: one object per line, with a fixed set of safe fields.

Example::

    configure_logging("INFO")
    audit("login_succeeded", session="3f2a9c1d", mechanisms=["UP", "OTP"])

Callers pass only values that are safe to print: a session appears as its keyed hash, never its id; answers,
codes, passwords and tokens are never handed to a logger.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
import traceback
from json.encoder import encode_basestring_ascii
from types import TracebackType
from typing import Any, cast

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

audit_log = logging.getLogger("bff.audit")

#: Third-party loggers that log request and response headers at DEBUG.
_HEADER_LOGGERS = ("httpx", "httpcore", "hpack", "redis")


# For values the fast path below does not spell itself; made once (json.dumps builds an encoder per call).
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))
# Field names as JSON strings, escaped once each: they come from the code, so the set stays small.
_KEYS: dict[str, str] = {}


def _json_value(value: object) -> str:
    """``value`` as JSON, as ``json.dumps(value, default=str)`` spells it.

    The scalars every line carries are spelled here: the encoder's own set-up costs more than a whole access
    line (this formatter runs once per request).
    """
    kind = type(value)  # exact types: a bool is an int, and a str subclass may spell itself otherwise
    if kind is str:
        return encode_basestring_ascii(cast(str, value))
    if kind is int or (kind is float and math.isfinite(cast(float, value))):
        return repr(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return _ENCODER.encode(value)


_OWN = frozenset({"time", "level", "logger"})
# uvicorn passes its message again with ANSI colour codes as an extra field: never a JSON field.
_NOT_EXTRA = _RESERVED | _OWN | {"color_message"}


def _json_key(key: str) -> str:
    """``key`` as a JSON string, remembered: field, level and logger names come from the code, and are few."""
    spelled = _KEYS.get(key)
    if spelled is None:
        spelled = encode_basestring_ascii(key)
        if len(_KEYS) < 1024:
            _KEYS[key] = spelled
    return spelled


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, and the record's extra fields."""

    # (second, its text): one tuple, replaced whole, so threads never pair a second with another's text.
    _stamp: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        # strftime is the dearest part of a line: it is computed once per second, not once per record.
        second = int(record.created)
        stamp = self._stamp
        if stamp[0] != second:
            stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._stamp = stamp
        parts = [
            f'{{"time":"{stamp[1]}.{int(record.msecs):03d}Z"',
            '"level":' + _json_key(record.levelname.lower()),
            '"logger":' + _json_key(record.name),
            '"message":' + _json_value(record.getMessage()),
        ]
        keys = _KEYS
        for key, value in record.__dict__.items():
            # An extra field may not pose as one of the four above.
            if key in _NOT_EXTRA or key[:1] == "_":
                continue
            # The two helpers inlined for the usual case (a known name, a str value): once per field of
            # every access line.
            spelled = keys.get(key) or _json_key(key)
            if type(value) is str:
                parts.append(f"{spelled}:{encode_basestring_ascii(value)}")
            else:
                parts.append(f"{spelled}:{_json_value(value)}")
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type and where it was raised, as one field each; never its message (nor a
            # chained one's), which can carry secrets. The frames name files, lines and functions only.
            parts.append('"exception":' + _json_value(record.exc_info[0].__name__))
            parts.append('"traceback":' + _json_value(_frames(record.exc_info[2])))
        elif record.stack_info:
            parts.append('"stack":' + _json_value(record.stack_info))
        return ",".join(parts) + "}"


def _frames(tb: TracebackType | None) -> str:
    """The traceback's frames, innermost last: file, line and function each, never source text or values."""
    return "\n".join(
        f'File "{frame.filename}", line {frame.lineno}, in {frame.name}'
        for frame in traceback.StackSummary.extract(traceback.walk_tb(tb), lookup_lines=False)
    )


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines (idempotent), uvicorn's own included."""
    root = logging.getLogger()
    # A JSON handler already there (uvicorn's --log-config app/observe/uvicorn_log.json put it) is kept.
    handler = next(
        (h for h in root.handlers if getattr(h, "_bff", False) or isinstance(h.formatter, JsonFormatter)),
        None,
    )
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler._bff = True  # type: ignore[attr-defined]
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())
    # The JSON lines never show a record's source line, thread or process, so logging need not look them up
    # (finding the caller walks the stack on every record: the access log writes one per request).
    logging._srcfile = None  # documented in the logging HOWTO, "Optimization"
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # uvicorn's own access log would duplicate ours and print raw query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # uvicorn's start-up, shutdown and error lines go through the JSON handler too, whether uvicorn was given
    # the JSON log config or set up its own plain (coloured) handlers before importing the app.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        for own in list(uvicorn_logger.handlers):
            if not isinstance(own.formatter, JsonFormatter):
                uvicorn_logger.removeHandler(own)
        uvicorn_logger.propagate = not uvicorn_logger.handlers
    # At DEBUG these print raw headers (Authorization, Set-Cookie: .ASPXAUTH): never below WARNING.
    for name in _HEADER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def audit(event: str, **fields: Any) -> None:
    """An audit event (login, logout, revocation, rate limit): the event name plus safe fields."""
    audit_log.info(event, extra={"event": event, **fields})
