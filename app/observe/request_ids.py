"""Request ids: validate the one a trusted caller sent, or make a fresh one.

Example::

    rid = new_request_id()          # 32 hex characters, unique across processes
    valid_request_id("4bf92f35")    # True: safe to log and forward as X-Request-ID
"""

from __future__ import annotations

import itertools
import os
import re
import secrets

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def valid_request_id(value: str) -> bool:
    """True for 1-128 characters of ``[A-Za-z0-9._-]``, e.g. a UUID or a hex token."""
    return _REQUEST_ID.fullmatch(value) is not None


class _RequestIds:
    """Request ids: a random 64-bit prefix per process, then a counter (32 hex characters in all).

    Unique across processes and restarts like a random id, but without a getrandom() system call on every
    request. An id names a request in logs; it is not a secret, so that ids from one process count up is
    harmless. A forked child draws its own prefix, so workers forked from one parent never share ids.
    """

    def __init__(self) -> None:
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_REQUEST_IDS = _RequestIds()


def new_request_id() -> str:
    """A fresh request id (32 hex characters), unique across processes."""
    return _REQUEST_IDS.next()
