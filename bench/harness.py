"""``make bench``: the upstream alone, an nginx reverse proxy and the BFF, each under wrk, as one table.

Example::

    .venv/bin/python -m bench.harness                      # 1 round, 10 s per measurement
    .venv/bin/python -m bench.harness --runs 3 --duration 10 --targets upstream,nginx,bff,bff2

Everything runs on loopback on free ports, in a throwaway folder: redis-server (no persistence), nginx as the
tenant (a fixed CyberArk-shaped GetUPData answer; it reports whether it got the expected Bearer), nginx as a
plain reverse proxy (the ceiling for one hop), and the BFF under uvicorn (uvloop, httptools) with one worker
(``bff``) or two (``bff2``), with every feature on. Figures are medians over rounds; a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
#: The interpreter the benchmarks run the BFF on (``make shipped-venv``): Debian's packaged CPython 3.11,
#: built with PGO and LTO like the image's python:3.11-slim, with requirements.lock installed. The dev venv's
#: interpreter may be a build without either (pyenv's default), which runs the same code 15-25% slower.
SHIPPED_PYTHON = ROOT / ".venv-shipped" / "bin" / "python"


def bff_python() -> Path:
    """The shipped venv's interpreter when it exists, else the dev venv's."""
    return SHIPPED_PYTHON if SHIPPED_PYTHON.exists() else PYTHON


def describe_python(python: str | Path) -> str:
    """``CPython 3.11.2 built at /usr/bin/python3.11 (.venv-shipped/bin/python)``: which build measured."""
    probe = (
        "import platform, sys; "
        "print(platform.python_implementation(), platform.python_version(), sys._base_executable)"
    )
    out = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True)  # noqa: S603
    implementation, version, base = out.stdout.split()
    return f"{implementation} {version} built at {base} ({python})"


TOKEN = "BENCH" + "0123456789ABCDEF" * 40  # about as long as a real .ASPXAUTH
SECRET = "bench-secret-" + "s" * 40
PATH = "/UPRest/GetUPData"
TARGETS = ("upstream", "nginx", "bff", "bff2")


def _apps() -> list[dict[str, object]]:
    names = ["Salesforce", "Workday", "ServiceNow", "Slack", "Zoom", "Box", "GitHub", "Jira", "Okta", "AWS"]
    return [
        {
            "AppKey": f"5a1e{i:04d}-0000-4000-8000-000000000000",
            "Name": name,
            "DisplayName": name,
            "Url": f"https://apps.example.com/{name.lower()}",
            "Icon": f"/vfslow/lib/ui/images/{name.lower()}.png",
            "WebAppType": "Saml",
            "TemplateName": f"Generic{name}",
            "Description": f"{name} for the whole team",
        }
        for i, name in enumerate(names)
    ]


BODY = json.dumps(
    {
        "success": True,
        "Result": {"Apps": _apps()},
        "Message": None,
        "MessageID": None,
        "Exception": None,
        "ErrorID": None,
        "ErrorCode": None,
        "IsSoftError": False,
        "InnerExceptions": None,
    },
    separators=(",", ":"),
)

NGINX_COMMON = """
worker_processes 1;
daemon off;
pid {run}/{name}.pid;
error_log {run}/{name}.error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {run}/{name}-body;
  proxy_temp_path {run}/{name}-proxy;
  fastcgi_temp_path {run}/{name}-fcgi;
  uwsgi_temp_path {run}/{name}-uwsgi;
  scgi_temp_path {run}/{name}-scgi;
  keepalive_requests 1000000;
  {body}
}}
"""

UPSTREAM_CONF = """
  map_hash_bucket_size 1024;
  map $http_authorization $auth_ok {{ "Bearer {token}" 1; default 0; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      default_type application/json;
      add_header X-Bench-Auth-Ok $auth_ok always;
      return 200 '{body}';
    }}
  }}
"""

PROXY_CONF = """
  upstream tenant {{ server 127.0.0.1:{upstream}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location /api/ {{
      if ($http_x_csrf != "1") {{ return 403; }}
      proxy_pass http://tenant/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Cookie "";
      proxy_set_header Authorization "Bearer {token}";
    }}
  }}
"""


@dataclass
class Target:
    name: str
    label: str
    port: int
    path: str
    cookie: str = ""
    auth: str = ""
    #: Process group of the server measured (its CPU time is reported per request); 0 for none.
    group: int = 0


_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(group: int) -> float:
    """User + system CPU of every live process in process group ``group``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = (Path("/proc") / entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for port {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


class Processes:
    """Starts processes in their own process groups and stops exactly those."""

    def __init__(self, run: Path) -> None:
        self.run = run
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.run / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(  # noqa: S603 - fixed argv built here
            argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(8)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_nginx(procs: Processes, name: str, conf: str) -> subprocess.Popen[bytes]:
    path = procs.run / f"{name}.conf"
    path.write_text(NGINX_COMMON.format(run=procs.run, name=name, body=conf))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return procs.start(name, [nginx, "-c", str(path), "-e", str(procs.run / f"{name}.error.log")])


def start_store_and_tenant(procs: Processes) -> tuple[int, int, subprocess.Popen[bytes]]:
    """redis-server (no persistence) and the nginx tenant, both listening: their ports and the tenant."""
    redis_port, up_port = free_port(), free_port()
    redis = procs.start(
        "redis",
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(procs.run),
        ],
    )
    upstream = start_nginx(procs, "upstream", UPSTREAM_CONF.format(token=TOKEN, port=up_port, body=BODY))
    wait_port(redis_port, redis)
    wait_port(up_port, upstream)
    return redis_port, up_port, upstream


def seed_cookie(python: str, env: dict[str, str], tree: Path) -> str:
    """A session for the bench's bearer, made through the app's own store: the Cookie header value."""
    seeded = subprocess.run(  # noqa: S603 - fixed argv built here
        [python, "-m", "bench.seed", "--token", TOKEN],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    return seeded.stdout.strip().splitlines()[-1]


def bff_env(upstream_port: int, redis_port: int) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "CYBERARK_TENANT_URL": f"http://127.0.0.1:{upstream_port}",
        "BFF_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "BFF_SESSION_SECRETS": SECRET,
        "BFF_COOKIE_SECURE": "false",
        "BFF_PROXY_ALLOW": f"POST {PATH}",
    }


def request(target: Target, csrf: bool = True) -> tuple[int, dict[str, str], bytes]:
    """One POST like wrk's; header names come back lower-case."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if csrf:
        headers["X-CSRF"] = "1"
    if target.cookie:
        headers["Cookie"] = target.cookie
    if target.auth:
        headers["Authorization"] = target.auth
    req = urllib.request.Request(  # noqa: S310 - loopback http only
        f"http://127.0.0.1:{target.port}{target.path}",
        data=b'{"force":false}',
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def preflight(target: Target) -> None:
    status, headers, body = request(target)
    if status != 200 or json.loads(body) != json.loads(BODY):
        raise RuntimeError(f"{target.name}: preflight answered {status} {body[:200]!r}")
    if headers.get("x-bench-auth-ok") != "1":
        raise RuntimeError(f"{target.name}: the upstream did not get the expected Bearer")
    if target.name != "upstream" and request(target, csrf=False)[0] != 403:
        raise RuntimeError(f"{target.name}: a request without X-CSRF was not refused")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def run_wrk(target: Target, conns: int, seconds: int) -> dict[str, float]:
    env = {**os.environ, "BENCH_COOKIE": target.cookie, "BENCH_AUTH": target.auth}
    argv = [
        "wrk",
        "-t1",
        f"-c{conns}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "post.lua"),
        f"http://127.0.0.1:{target.port}{target.path}",
    ]
    cpu_before = group_cpu_seconds(target.group) if target.group else 0.0
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout  # noqa: S603
    cpu = group_cpu_seconds(target.group) - cpu_before if target.group else float("nan")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    failed = (int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0)
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50": p50, "p99": p99, "errors": failed, "cpu_us": cpu / requests * 1e6}


def session_bytes(redis_port: int) -> list[tuple[str, int]]:
    code = (
        "import redis,sys; r=redis.Redis(port=int(sys.argv[1]));"
        "print('\\n'.join(f'{k.decode()[:20]} {r.memory_usage(k)}' for k in r.scan_iter('bff:*')))"
    )
    out = subprocess.run(
        [str(PYTHON), "-c", code, str(redis_port)], capture_output=True, text=True, check=True
    )
    rows = [line.rsplit(" ", 1) for line in out.stdout.splitlines() if line.strip()]
    return [(key, int(size)) for key, size in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=3, help="seconds at -c32 before each target's round")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--conns", default="32,1")
    parser.add_argument(
        "--python",
        default=str(bff_python()),
        help="interpreter for the BFF (default: .venv-shipped's, made by `make shipped-venv`, else .venv's)",
    )
    args = parser.parse_args(argv)
    wanted = [t for t in args.targets.split(",") if t]
    conns = [int(c) for c in args.conns.split(",")]
    run = Path(tempfile.mkdtemp(prefix="bff-bench-"))
    procs = Processes(run)
    try:
        redis_port, up_port, upstream = start_store_and_tenant(procs)
        proxy_port = free_port()
        up_group = upstream.pid
        targets: dict[str, Target] = {
            "upstream": Target(
                "upstream", "upstream (direct)", up_port, PATH, auth=f"Bearer {TOKEN}", group=up_group
            ),
        }
        if "nginx" in wanted:
            nginx = start_nginx(
                procs, "nginx", PROXY_CONF.format(upstream=up_port, port=proxy_port, token=TOKEN)
            )
            wait_port(proxy_port, nginx)
            targets["nginx"] = Target("nginx", "nginx proxy", proxy_port, "/api" + PATH, group=nginx.pid)
        env = bff_env(up_port, redis_port)
        cookie = seed_cookie(str(PYTHON), env, ROOT)
        for name, workers in (("bff", 1), ("bff2", 2)):
            if name not in wanted:
                continue
            port = free_port()
            proc = procs.start(
                name,
                [
                    args.python,
                    "-m",
                    "uvicorn",
                    "app.main:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--loop",
                    "uvloop",
                    "--http",
                    "httptools",
                    "--no-access-log",
                    "--workers",
                    str(workers),
                ],
                env=env,
            )
            wait_port(port, proc)
            targets[name] = Target(
                name,
                f"BFF {workers} worker{'s' if workers > 1 else ''}",
                port,
                "/api" + PATH,
                cookie=cookie,
                group=proc.pid,
            )
        order = [targets[name] for name in wanted if name in targets]
        for target in order:
            preflight(target)
        results: dict[tuple[str, int], list[dict[str, float]]] = {}
        for round_no in range(args.runs):
            for target in order:
                if args.warmup:
                    run_wrk(target, 32, args.warmup)
                for c in conns:
                    result = run_wrk(target, c, args.duration)
                    results.setdefault((target.name, c), []).append(result)
                    sys.stderr.write(
                        f"round {round_no + 1} {target.name:8} c{c:<3} {result['rps']:9.0f} req/s "
                        f"{result['cpu_us']:7.1f} us CPU per request\n"
                    )
        _print_table(order, conns, results)
        sessions = session_bytes(redis_port)
        sys.stdout.write("\nRedis MEMORY USAGE (bytes) per key the seeded session wrote:\n")
        for key, size in sessions:
            sys.stdout.write(f"  {key}...  {size}\n")
        load = os.getloadavg()
        sys.stdout.write(
            f"\n{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
            f"BFF interpreter: {describe_python(args.python)}\n"
        )
    finally:
        procs.stop_all()
        shutil.rmtree(run, ignore_errors=True)
    return 0


def _print_table(
    order: list[Target], conns: list[int], results: dict[tuple[str, int], list[dict[str, float]]]
) -> None:
    header = f"| {'target':18} | conns | {'req/s':>7} | p50 ms | p99 ms | CPU us/req | errors |"
    lines = [header, "|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|"]
    for c in conns:
        for target in order:
            rows = results[(target.name, c)]
            rps = statistics.median(r["rps"] for r in rows)
            p50 = statistics.median(r["p50"] for r in rows)
            p99 = statistics.median(r["p99"] for r in rows)
            cpu = statistics.median(r["cpu_us"] for r in rows)
            errors = int(sum(r["errors"] for r in rows))
            cells = f"{rps:7.0f} | {p50:6.2f} | {p99:6.2f} | {cpu:10.1f} | {errors:6}"
            lines.append(f"| {target.label:18} | {c:5} | {cells} |")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
