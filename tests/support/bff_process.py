"""A BFF in a process of its own (``python -m uvicorn app.main:app``): two replicas on one Redis.

``BffProcess(sim_url, redis_url, BFF_LOGIN_MODES="api,oauth", ...)``: the variables given override the
defaults below; ``stop()`` ends it by its own process group id.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.bff_fixtures import SECRET
from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


class BffProcess:
    """``python -m uvicorn app.main:app`` in a process group of its own, stopped by its own id."""

    def __init__(self, tenant_url: str, redis_url: str, **variables: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            CYBERARK_TENANT_URL=tenant_url,
            BFF_REDIS_URL=redis_url,
            BFF_SESSION_SECRETS=SECRET,
            BFF_COOKIE_SECURE="false",
            BFF_POLL_MIN_INTERVAL="0",
            BFF_LOGIN_RATE_LIMIT="100000/60,100000/60",
            BFF_PROXY_ALLOW="POST /UPRest/GetUPData",
            BFF_SESSION_CACHE="on",
            BFF_LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        env.update(variables)
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--no-access-log", "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        wait_for_port(self.port, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
