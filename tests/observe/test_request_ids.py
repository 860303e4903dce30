"""Request ids: the shape a caller's id must have, and fresh ids unique across processes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from app.observe.request_ids import new_request_id, valid_request_id


@pytest.mark.parametrize("value", ["a", "A-z_0.9", "x" * 128, "0f8fad5b-d9cb-469f-a165-70867728950e"])
def test_valid_request_ids(value: str) -> None:
    assert valid_request_id(value)


@pytest.mark.parametrize("value", ["", "x" * 129, "a b", "a\n", "a\r\nb", "a/b", "\u00e4", "a\x00", "a;b"])
def test_invalid_request_ids(value: str) -> None:
    assert not valid_request_id(value)


def test_new_request_ids_are_valid_and_distinct() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(valid_request_id(i) and re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_request_ids_differ_between_processes_even_forked_ones() -> None:
    mine = new_request_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out without running the parent's atexit/cleanup
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    # Same counter position in both, so only a fresh prefix in the child keeps the ids apart.
    assert valid_request_id(child) and child[:16] != mine[:16] and child != new_request_id()
    spawned = subprocess.run(
        [sys.executable, "-c", "from app.observe.request_ids import new_request_id as n; print(n())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert valid_request_id(spawned) and spawned[:16] != mine[:16]
