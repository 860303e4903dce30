"""CPU instructions per proxied call, counted by callgrind: a figure that does not move with machine load.

Example::

    .venv/bin/python -m bench.instructions                   # this tree, 1,000 calls after 300 warm-up calls
    .venv/bin/python -m bench.instructions /tmp/before .     # several trees (git worktrees) in one run
    .venv/bin/python -m bench.instructions --upstream assertion   # the same call to an upstream (api.md §7)
    .venv/bin/python -m bench.instructions --python .venv/bin/python .   # on the dev venv's interpreter

The BFF runs on ``.venv-shipped`` (``make shipped-venv``: Debian's optimised CPython 3.11 with
requirements.lock, like the image) when it exists, else on ``.venv``; the first line names the interpreter.
Every tree runs on that one interpreter, so each tree's imports must be in its venv (an older tree may need a
dependency this one dropped: give it ``--python`` of a venv made from its own lock).

req/s on a shared 2-core box moves by 10-20% from run to run, more than most single changes; an instruction
count is the same to within 0.1% on every run. It counts user-space instructions only (not the kernel's
work in system calls, nor cache misses), so it ranks changes to the Python side, and wrk's figures still
decide. Each tree's BFF runs under ``valgrind --tool=callgrind`` (about 50 times slower) against the same
redis-server and nginx tenant as ``make bench``, with instrumentation switched on only around the counted
calls; 16 connections keep it busy the way wrk's do. It also prints the Redis commands per counted call
at steady state (``INFO commandstats`` over 20,000 calls to the same BFF run without callgrind), the figure
the session cache brings from 1.0 towards 0.

``--upstream MODE`` counts a call to an upstream of ``BFF_UPSTREAMS`` instead (``/svc/bench/...``, the same
nginx answer, the credential of ``MODE``: an assertion, or none): an upstream call must cost no more than a
tenant call. Trees without upstreams answer 404 there and are reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import (
    PATH,
    Processes,
    bff_env,
    bff_python,
    describe_python,
    free_port,
    seed_cookie,
    start_store_and_tenant,
    wait_port,
)

#: Where the counted calls go: the tenant under /api, or (``--upstream``) the bench upstream's prefix.
UPSTREAM_PREFIX = "/svc/bench"


def upstream_env(up_port: int, mode: str) -> dict[str, str]:
    """The settings that put the nginx tenant behind ``UPSTREAM_PREFIX`` as an upstream in ``mode``."""
    entry = {"name": "bench", "url": f"http://127.0.0.1:{up_port}", "allow": f"POST {PATH}", "token": mode}
    return {"BFF_UPSTREAMS": json.dumps([entry]), "BFF_PUBLIC_URL": "http://127.0.0.1"}


async def drive(port: int, cookie: str, calls: int, conns: int, prefix: str = "/api") -> None:
    """``calls`` POSTs over ``conns`` keep-alive connections; every answer must be a 200."""
    request = (
        f"POST {prefix}{PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nX-CSRF: 1\r\nCookie: {cookie}\r\nContent-Length: 15\r\n\r\n"
        '{"force":false}'
    ).encode()
    left = calls

    async def one() -> None:
        nonlocal left
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while left > 0:
            left -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"BFF answered {head[:60]!r}")
            length = re.search(rb"(?i)\r\ncontent-length: (\d+)", head)
            if length is None:
                raise RuntimeError("no Content-Length in the answer")
            await reader.readexactly(int(length.group(1)))
        writer.close()

    await asyncio.gather(*(one() for _ in range(conns)))


def total_instructions(path: str) -> int:
    total = 0
    with open(path) as dump:
        for line in dump:
            if line.startswith("totals:"):
                total = int(line.split()[1])
    return total


def redis_commands(port: int) -> dict[str, int]:
    """Calls per command since the last reset (INFO commandstats), less the bench's own INFO and reset."""
    import redis

    with redis.Redis(port=port) as client:
        stats = client.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
    for ours in ("info", "config|resetstat"):
        calls.pop(ours, None)
    return calls


def reset_redis_stats(port: int) -> None:
    import redis

    with redis.Redis(port=port) as client:
        client.config_resetstat()


def count(
    tree: Path, run: Path, env: dict[str, str], calls: int, conns: int, python: str, prefix: str = "/api"
) -> float:
    """Instructions per call for the BFF in ``tree``."""
    env = {**env, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    port = free_port()
    out = run / f"callgrind.{port}"
    log = open(run / f"bff.{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(  # noqa: S603
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", python, "-m",
         "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
         "--http", "httptools", "--no-access-log"],
        env=env, cwd=tree, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(port, proc, timeout=300)
        # Seeded once the BFF is up (valgrind takes a minute to start it): a session seeded before would pass
        # its lazy last_seen_at write (60 s) during the counted calls, which would then count that write.
        cookie = seed_cookie(python, env, tree)
        asyncio.run(drive(port, cookie, 300, conns, prefix))  # warm-up: imports, pools, specialised bytecode
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        asyncio.run(drive(port, cookie, calls, conns, prefix))
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(60)
        log.close()
    return sum(total_instructions(f) for f in glob.glob(f"{out}*")) / calls


def commands_per_call(
    tree: Path,
    run: Path,
    env: dict[str, str],
    calls: int,
    conns: int,
    python: str,
    redis_port: int,
    prefix: str = "/api",
) -> tuple[dict[str, int], float]:
    """Redis's commands during ``calls`` proxied calls at steady state, and their seconds, at full speed
    (under callgrind the clock-driven work, the session cache's heartbeat, would weigh 50 times more)."""
    env = {**env, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    port = free_port()
    log = open(run / f"bff-plain.{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(  # noqa: S603
        [python, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log"],
        env=env, cwd=tree, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_port(port, proc, timeout=60)
        cookie = seed_cookie(python, env, tree)
        asyncio.run(drive(port, cookie, 300, conns, prefix))
        reset_redis_stats(redis_port)
        started = time.monotonic()
        asyncio.run(drive(port, cookie, calls, conns, prefix))
        seconds = time.monotonic() - started
        return redis_commands(redis_port), seconds
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(60)
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n")[0])
    parser.add_argument("trees", nargs="*", default=[str(Path(__file__).resolve().parent.parent)])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--plain-calls", type=int, default=20000, help="calls for the Redis command count")
    parser.add_argument(
        "--python",
        default=str(bff_python()),
        help="the BFF's interpreter for every tree (default: .venv-shipped's if made, else .venv's)",
    )
    parser.add_argument(
        "--upstream",
        choices=["assertion", "none"],
        help="count calls to an upstream of BFF_UPSTREAMS with this credential, not to the tenant",
    )
    args = parser.parse_args(argv)
    prefix = "/api" if args.upstream is None else UPSTREAM_PREFIX
    # Absolute, as each tree's BFF runs in that tree (not resolved: a venv's python is a symlink out of it).
    args.python = os.path.abspath(args.python)
    run = Path(tempfile.mkdtemp(prefix="bff-instructions-"))
    procs = Processes(run)
    sys.stdout.write(f"BFF interpreter: {describe_python(args.python)}\n")
    try:
        redis_port, up_port, _ = start_store_and_tenant(procs)
        env = bff_env(up_port, redis_port)
        if args.upstream is not None:
            env.update(upstream_env(up_port, args.upstream))
        for tree in args.trees:
            commands, seconds = commands_per_call(
                Path(tree).resolve(), run, env, args.plain_calls, args.conns, args.python, redis_port, prefix
            )
            # The session cache's heartbeat PINGs go by the clock, not by the calls: shown apart, per second.
            pings = commands.pop("ping", 0)
            per_call_commands = sum(commands.values()) / args.plain_calls
            sys.stdout.write(
                f"{per_call_commands:9.4f}  Redis commands per proxied call ({commands or 'none'}; "
                f"and {pings / seconds:.1f} PING/s)  {tree}\n"
            )
            sys.stdout.flush()
            per_call = count(Path(tree).resolve(), run, env, args.calls, args.conns, args.python, prefix)
            to = "" if args.upstream is None else f" to {UPSTREAM_PREFIX} ({args.upstream})"
            sys.stdout.write(f"{per_call / 1000:9.1f}k instructions per proxied call{to}  {tree}\n")
            sys.stdout.flush()
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
