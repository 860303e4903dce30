"""Two BFF processes (uvicorn, the session cache on) on one Redis: a session ended on one is refused by the
other on its very next request, however warm the other's copy; many rounds of logout and revocation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import browser, login
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET
from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 200
API = "/api/UPRest/GetUPData"


class BffProcess:
    """``python -m uvicorn app.main:app`` in a process group of its own, stopped by its own id."""

    def __init__(self, tenant_url: str, redis_url: str) -> None:
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


@pytest.fixture
def two_bffs(sim_server: ServerThread, redis_url: str) -> Iterator[tuple[BffProcess, BffProcess]]:
    one = BffProcess(sim_server.url, redis_url)
    try:
        two = BffProcess(sim_server.url, redis_url)
    except BaseException:
        one.stop()
        raise
    yield one, two
    one.stop()
    two.stop()


async def warm(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        answer = await client.post(API, json={})
        assert answer.status_code == 200, answer.text


async def test_an_ended_session_is_refused_by_the_other_process_on_its_next_request(
    two_bffs: tuple[BffProcess, BffProcess],
) -> None:
    one, two = two_bffs
    async with browser(one.url) as laptop, browser(two.url) as phone_on_two, browser(one.url) as phone_on_one:
        await login(laptop)
        for round_ in range(ROUNDS):
            phone = await login(phone_on_two)
            phone_on_one.cookies.set("bff", phone)
            await warm(phone_on_two)  # the second process's copy is warm
            await warm(phone_on_one)  # and the first's
            if round_ % 2:
                assert (await phone_on_one.post("/auth/logout")).status_code == 204  # logout on one
            else:
                listed = (await laptop.get("/auth/sessions")).json()
                phone_id = next(item["id"] for item in listed if not item["current"])
                assert (await laptop.delete(f"/auth/sessions/{phone_id}")).status_code == 204  # revoke on one
            refused = await phone_on_two.post(API, json={})
            assert refused.status_code == 401, f"round {round_}: {refused.status_code} {refused.text}"
            assert (await phone_on_two.post(API, json={})).status_code == 401
            phone_on_two.cookies.clear()
            phone_on_one.cookies.clear()
        # The laptop's own session, never ended, is still served by both.
        assert (await laptop.post(API, json={})).status_code == 200
