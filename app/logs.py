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
import sys
import time
from typing import Any

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

audit_log = logging.getLogger("bff.audit")

#: Third-party loggers that log request and response headers at DEBUG.
_HEADER_LOGGERS = ("httpx", "httpcore", "hpack", "aiohttp", "redis")


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
        entry: dict[str, Any] = {
            "time": f"{stamp[1]}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's type only: a traceback's locals and messages can carry secrets.
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON lines (idempotent)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_bff", False)), None)
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
    # At DEBUG these print raw headers (Authorization, Set-Cookie: .ASPXAUTH): never below WARNING.
    for name in _HEADER_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def audit(event: str, **fields: Any) -> None:
    """An audit event (login, logout, revocation, rate limit): the event name plus safe fields."""
    audit_log.info(event, extra={"event": event, **fields})
