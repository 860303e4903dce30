"""``python -m bench.soak``: mixed traffic against real processes, to see what a long run leaves behind.

It starts a private redis-server, the simulator and the BFF (uvicorn, one worker) on free loopback ports, then
runs ``--concurrency`` browsers, each looping: a login with MFA (password then a push with number matching,
approved through the simulator, or an email code), ``--calls`` proxied ``POST /api/UPRest/GetUPData``, and a
logout. It stops after ``--duration`` seconds or ``--requests`` requests and reports::

    errors, requests, p50/p99 per kind, BFF RSS at start and end, Redis keys before and after

Targets (issue "Hold under faults, load and hostile input"): zero errors, RSS growth under 10%, and the
session keys (``s:``, ``l:``, ``u:``) back to the baseline once the sessions end. Rate-limit buckets
(``rl:``) are counted apart: they expire with their window (at most 10 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECRET = "soak-secret-" + "s" * 40
PASSWORD = "Soak-pass-1"


def soak_user(index: int) -> dict[str, Any]:
    """A user of the worker's own (codes and push approvals are per user): push on even, email on odd."""
    push = index % 2 == 0
    return {
        "username": f"soak-{index}@example.com",
        "password": PASSWORD,
        "display_name": f"Soak {index}",
        "email": f"soak-{index}@example.com",
        "number_matching": push,
        "totp_secret": "ONSWG4TFORXXEZLU",
        "challenges": [["UP"], ["OTP" if push else "EMAIL"]],
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not come up in {timeout}s")
        time.sleep(0.1)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _redis_keys(port: int) -> dict[str, int]:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "--scan"], check=True, capture_output=True, text=True, timeout=30
    ).stdout.split()
    kinds: dict[str, int] = defaultdict(int)
    for key in out:
        kinds[key.split(":")[1] if key.count(":") else key] += 1
    return dict(kinds)


@dataclass
class Processes:
    """redis-server, the simulator and the BFF, started as subprocesses and stopped together."""

    redis_port: int = field(default_factory=_free_port)
    sim_port: int = field(default_factory=_free_port)
    bff_port: int = field(default_factory=_free_port)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bff-soak-")))

    @property
    def bff(self) -> subprocess.Popen[bytes]:
        return self.procs[2]

    def start(self) -> None:
        python = sys.executable
        redis_args = ["--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", ""]
        redis_args += ["--appendonly", "no", "--dir", str(self.folder)]
        self._spawn(["redis-server", *redis_args])
        self._spawn([python, "-m", "simulator", "--port", str(self.sim_port)])
        env = {
            **os.environ,
            "CYBERARK_TENANT_URL": f"http://127.0.0.1:{self.sim_port}",
            "BFF_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "BFF_SESSION_SECRETS": SECRET,
            "BFF_COOKIE_SECURE": "false",
            "BFF_POLL_MIN_INTERVAL": "0",
            # One address and two users drive every browser here: throttling would only measure itself.
            "BFF_LOGIN_RATE_LIMIT": "1000000/60,1000000/60",
            "BFF_OOB_RATE_LIMIT": "1000000/600",
            "BFF_LOG_LEVEL": "WARNING",
        }
        uvicorn = [
            python,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.bff_port),
        ]
        uvicorn += ["--no-access-log", "--no-proxy-headers", "--log-level", "warning"]
        self._spawn(uvicorn, env=env)
        _wait_for(f"http://127.0.0.1:{self.sim_port}/_sim/calls")
        _wait_for(f"http://127.0.0.1:{self.bff_port}/readyz")

    def _spawn(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.procs.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Tally:
    """Latencies by kind of request, and every unexpected answer."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    requests: int = 0

    def record(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)
        self.requests += 1

    def percentiles(self) -> dict[str, tuple[int, float, float]]:
        out = {}
        for kind, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            p50 = ordered[len(ordered) // 2]
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            out[kind] = (len(ordered), p50 * 1000, p99 * 1000)
        return out


class Browser:
    """One SPA's worth of traffic: log in with MFA, call the API, log out."""

    def __init__(self, bff: str, sim: str, tally: Tally, calls: int) -> None:
        self.http = httpx.AsyncClient(base_url=bff, headers={"X-CSRF": "1"}, timeout=30)
        self.sim = httpx.AsyncClient(base_url=sim, timeout=30)
        self.tally = tally
        self.calls = calls

    async def request(self, kind: str, path: str, body: Any, expect: int = 200) -> Any:
        started = time.perf_counter()
        response = await self.http.post(path, json=body)
        self.tally.record(kind, time.perf_counter() - started)
        if response.status_code != expect:
            self.tally.errors.append(f"{kind} {path}: {response.status_code} {response.text[:200]}")
            raise RuntimeError("unexpected answer")
        return response.json() if response.content else None

    async def cycle(self, user: str, push: bool) -> None:
        step = await self.request("login", "/auth/login", {"username": user})
        password = step["challenge"]["mechanisms"][0]["id"]
        step = await self.request("advance", "/auth/advance", {"mechanism": password, "answer": PASSWORD})
        mfa = step["challenge"]["mechanisms"][0]
        pending = await self.request(
            "advance", "/auth/advance", {"mechanism": mfa["id"], "action": "start_oob"}
        )
        if push:
            if not pending.get("number"):
                self.tally.errors.append("push without a number")
            await self.sim.post(f"/_sim/oob/{user}/approve")
            step = await self.request("poll", "/auth/poll", {})
            while step["status"] == "pending":
                await asyncio.sleep(0.05)
                step = await self.request("poll", "/auth/poll", {})
        else:
            code = (await self.sim.get(f"/_sim/code/{user}")).json()["code"]
            step = await self.request("advance", "/auth/advance", {"mechanism": mfa["id"], "answer": code})
        if step["status"] != "authenticated":
            self.tally.errors.append(f"login ended in {step['status']}")
        for _ in range(self.calls):
            apps = await self.request("proxy", "/api/UPRest/GetUPData", {})
            if not apps["Result"]["Apps"]:
                self.tally.errors.append("GetUPData without apps")
        await self.request("logout", "/auth/logout", None, expect=204)

    async def close(self) -> None:
        await self.http.aclose()
        await self.sim.aclose()


async def _run(bff: str, sim: str, *, concurrency: int, calls: int, deadline: float, limit: int) -> Tally:
    tally = Tally()

    async def worker(index: int) -> None:
        browser = Browser(bff, sim, tally, calls)
        user = soak_user(index)
        (await browser.sim.post("/_sim/users", json=user)).raise_for_status()
        try:
            while time.monotonic() < deadline and tally.requests < limit:
                try:
                    await browser.cycle(user["username"], push=bool(user["number_matching"]))
                except (RuntimeError, httpx.HTTPError, KeyError, TypeError) as exc:
                    tally.errors.append(f"cycle: {type(exc).__name__}")
        finally:
            await browser.close()

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return tally


def soak(duration: float, requests: int, concurrency: int, calls: int) -> dict[str, Any]:
    """Run the soak and return its figures (also what ``--json`` writes)."""
    with ExitStack() as stack:
        procs = Processes()
        stack.callback(procs.stop)
        procs.start()
        bff = f"http://127.0.0.1:{procs.bff_port}"
        sim = f"http://127.0.0.1:{procs.sim_port}"
        keys_before = _redis_keys(procs.redis_port)
        # Warm-up: imports, pools and first allocations are not growth.
        asyncio.run(_run(bff, sim, concurrency=2, calls=2, deadline=time.monotonic() + 2, limit=200))
        rss_start = _rss_kib(procs.bff.pid)
        started = time.monotonic()
        tally = asyncio.run(
            _run(bff, sim, concurrency=concurrency, calls=calls, deadline=started + duration, limit=requests)
        )
        elapsed = time.monotonic() - started
        rss_end = _rss_kib(procs.bff.pid)
        keys_after = _redis_keys(procs.redis_port)
    session_kinds = ("s", "l", "u")
    return {
        "requests": tally.requests,
        "seconds": round(elapsed, 1),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:5],
        "latency_ms": {
            k: {"n": n, "p50": round(p50, 2), "p99": round(p99, 2)}
            for k, (n, p50, p99) in tally.percentiles().items()
        },
        "rss_kib": {
            "start": rss_start,
            "end": rss_end,
            "growth_pct": round(100 * (rss_end / rss_start - 1), 1),
        },
        "redis_keys": {
            "before": keys_before,
            "after": keys_after,
            "session_keys_after": sum(keys_after.get(k, 0) for k in session_kinds),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    parser.add_argument("--requests", type=int, default=10**9, help="stop after this many requests")
    parser.add_argument("--concurrency", type=int, default=8, help="browsers at once (default 8)")
    parser.add_argument("--calls", type=int, default=20, help="proxied calls per login (default 20)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = soak(args.duration, args.requests, args.concurrency, args.calls)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    out = sys.stdout
    out.write(f"requests {figures['requests']} in {figures['seconds']} s, errors {figures['errors']}\n")
    for kind, row in figures["latency_ms"].items():
        out.write(f"  {kind:8} n={row['n']:7}  p50 {row['p50']:7.2f} ms  p99 {row['p99']:7.2f} ms\n")
    rss = figures["rss_kib"]
    out.write(f"BFF RSS {rss['start']} KiB -> {rss['end']} KiB ({rss['growth_pct']:+.1f}%)\n")
    keys = figures["redis_keys"]
    out.write(f"Redis keys before {keys['before']}, after {keys['after']}\n")
    for error in figures["first_errors"]:
        out.write(f"  error: {error}\n")
    sys.exit(1 if figures["errors"] else 0)


if __name__ == "__main__":
    main()
