"""The benchmark tools run end to end on a short budget: real redis-server, nginx, uvicorn, wrk, valgrind."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, timeout: float) -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_make_bench_prints_a_row_per_target_and_the_session_size() -> None:
    out = run(
        "bench.harness",
        "--targets",
        "nginx,bff",
        "--duration",
        "1",
        "--warmup",
        "0",
        "--conns",
        "4",
        timeout=120,
    )
    rows = {
        m.group(1): m
        for m in re.finditer(r"\| (nginx proxy|BFF 1 worker)\s*\|\s+4 \|\s+(\d+) \|.*\|\s+(\d+) \|", out)
    }
    assert set(rows) == {"nginx proxy", "BFF 1 worker"}, out
    assert re.search(r"^BFF interpreter: CPython 3\.\d+\.\d+ built at /\S+ \(\S+\)$", out, re.MULTILINE), out
    assert all(int(m.group(2)) > 0 and m.group(3) == "0" for m in rows.values())  # req/s, no errors
    sizes = {
        kind: int(n) for kind, n in re.findall(r"^  .*?([a-z]+):[0-9a-f]+\.\.\.  (\d+)$", out, re.MULTILINE)
    }
    assert set(sizes) == {"s", "u", "n"}, out  # the record, the user's index, the user name's entry
    assert 300 < sizes["s"] < 5000 and 300 < sizes["u"] < 5000 and 50 < sizes["n"] < 1000, out


def test_instruction_counts_are_per_call_and_positive() -> None:
    out = run("bench.instructions", "--calls", "40", "--conns", "4", "--plain-calls", "400", timeout=600)
    match = re.fullmatch(
        r"BFF interpreter: CPython 3\.\d+\.\d+ built at \S+ \(\S+/bin/python\)\n"
        r"\s*([\d.]+)  Redis commands per proxied call \(.*\)  \S+\n"
        r"\s*([\d.]+)k instructions per proxied call  \S+\n",
        out,
    )
    assert match is not None, out
    # The session cache answers a session's calls from memory: far fewer commands than one per call (1.0 was
    # a GETEX each); a few misses and a connection handshake remain.
    assert float(match.group(1)) < 0.5, out
    # A proxied call is hundreds of thousands of instructions; a broken count would be 0 or absurd.
    assert 100 < float(match.group(2)) < 10_000
