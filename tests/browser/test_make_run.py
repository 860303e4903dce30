"""As a newcomer would: `make run`, open the printed URL in Chromium, log in as the demo user with push,
see the apps, log out; a screenshot of each step is kept under test-output/."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import ROOT, PageProblems, Shots
from tests.browser.spa import Spa
from tests.support.ports import free_port


class MakeRun:
    """`make run` in its own process group, with the banner it printed."""

    def __init__(self, port: int, sim_port: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.sim_url = f"http://127.0.0.1:{sim_port}"
        outer = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "CYBERARK_"))}
        env = {**outer, **(env or {})}
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}", f"SIM_PORT={sim_port}"],
            cwd=ROOT,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def printed_url(self, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"BFF:\s+(http://\S+/)", self.log.read_text(errors="replace"))
            if match:
                url = match.group(1)
                try:
                    if httpx.get(url + "healthz", timeout=1).status_code == 200:
                        return url
                except httpx.HTTPError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"make run printed no working URL:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        finally:
            self._out.close()


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    running = MakeRun(free_port(), free_port(), tmp_path / "make-run.log")
    yield running
    running.stop()


def test_a_newcomer_logs_in_with_push_through_make_run(
    context: BrowserContext, make_run: MakeRun, shots: Shots, problems: PageProblems
) -> None:
    url = make_run.printed_url()
    banner = make_run.log.read_text()
    assert "demo@example.com / Demo-pass-1" in banner  # the banner names the demo user and password
    assert "federated:  fed@partner.example" in banner  # and a federated one

    page = context.new_page()
    spa = Spa(page).open(url)
    shots.take(page, "1-opened")
    spa.username("demo@example.com")
    spa.answer("Password", "Demo-pass-1")
    shots.take(page, "2-password-done")
    spa.choose("Mobile Authenticator")
    expect(page.locator("#pending-number")).to_have_text(re.compile(r"^\d{2}$"))
    shots.take(page, "3-push-number")
    httpx.post(f"{make_run.sim_url}/_sim/oob/demo@example.com/approve", timeout=5).raise_for_status()
    spa.expect_home("Demo User")
    expect(page.locator("#apps li")).to_have_count(10)
    shots.take(page, "4-apps")
    spa.logout()
    shots.take(page, "5-signed-out")

    # The banner's federated user: the identity provider's page opens in a window of its own.
    with context.expect_page() as opened:
        spa.username("fed@partner.example")
    idp = opened.value
    idp.get_by_role("button", name="Sign in").click()
    spa.expect_home("fed@partner.example", timeout=15_000)
    shots.take(page, "6-federated")
    assert problems.errors == []
