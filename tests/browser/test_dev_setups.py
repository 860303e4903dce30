"""Your own SPA in development, in Chromium, against `make run` (README "Developing your own SPA").

- ``BFF_STATIC_DIR=/path make run`` serves that directory, not the demo SPA.
- A real Vite dev server (dev/vite, from npm) proxying ``/auth`` and ``/api`` to `make run`'s BFF: the demo
  SPA served by Vite signs in with push, calls the API, and an OAuth login comes back through Vite.
- Split origins against `make run`: ``BFF_ALLOWED_ORIGINS=http://127.0.0.1:A make run`` and a page on A.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from tests.browser.conftest import ROOT
from tests.browser.spa import Spa
from tests.browser.test_make_run import MakeRun
from tests.browser.test_oauth_login import sign_in_at_the_tenant
from tests.browser.test_split_origin import PAGE, call, mechanism
from tests.support.asgi_server import ServerThread
from tests.support.ports import free_port

VITE = ROOT / "dev" / "vite"


def npm_ci_cached(folder: Path) -> None:
    """``npm ci`` in ``folder`` unless its node_modules was installed from this very package-lock.json."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: install Node.js 20 or later (Debian: apt-get install -y nodejs npm)")
    digest = hashlib.sha256((folder / "package-lock.json").read_bytes()).hexdigest()[:16]
    stamp = folder / "node_modules" / f".installed-{digest}"
    if stamp.exists():
        return
    subprocess.run(  # noqa: S603 - fixed argv
        [npm, "ci", "--no-audit", "--no-fund"], cwd=folder, check=True, timeout=600, capture_output=True
    )
    stamp.touch()


class ViteDevServer:
    """``npm run dev`` in dev/vite on ``port``, proxying /auth and /api to ``bff``."""

    def __init__(self, port: int, bff: str, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "VITE_PORT": str(port), "BFF_URL": bff}
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(VITE / "node_modules" / ".bin" / "vite")],
            cwd=VITE,
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"vite did not start:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        finally:
            self._out.close()


def test_make_run_serves_the_static_dir_it_is_given(tmp_path: Path) -> None:
    spa = tmp_path / "my-spa"
    spa.mkdir()
    (spa / "index.html").write_text("<!doctype html><title>My own SPA</title><p>mine</p>")
    running = MakeRun(free_port(), free_port(), tmp_path / "make-run.log", env={"BFF_STATIC_DIR": str(spa)})
    try:
        url = running.printed_url()
        assert "My own SPA" in httpx.get(url, timeout=10).text
        assert str(spa) in running.log.read_text()  # the banner says which SPA it serves
    finally:
        running.stop()


@pytest.fixture
def vite_and_make_run(tmp_path: Path) -> Iterator[tuple[ViteDevServer, MakeRun]]:
    npm_ci_cached(VITE)
    vite_port = free_port()
    running = MakeRun(
        free_port(),
        free_port(),
        tmp_path / "make-run.log",
        env={"BFF_PUBLIC_URL": f"http://127.0.0.1:{vite_port}"},
    )
    vite = None
    try:
        bff = running.printed_url().rstrip("/")
        vite = ViteDevServer(vite_port, bff, tmp_path / "vite.log")
        vite.wait()
        yield vite, running
    finally:
        if vite is not None:
            vite.stop()
        running.stop()


def test_a_vite_dev_server_proxies_auth_and_api_to_make_run(
    context: BrowserContext, vite_and_make_run: tuple[ViteDevServer, MakeRun]
) -> None:
    vite, running = vite_and_make_run
    page = context.new_page()
    spa = Spa(page).open(vite.url + "/")
    spa.username("demo@example.com").answer("Password", "Demo-pass-1").choose("Mobile Authenticator")
    expect(page.locator("#pending-number")).to_be_visible()
    httpx.post(f"{running.sim_url}/_sim/oob/demo@example.com/approve", timeout=10).raise_for_status()
    spa.expect_home("Demo User")
    expect(page.locator("#apps li").first).to_be_visible()  # /api through Vite's proxy
    assert page.url.startswith(vite.url)

    page.get_by_role("button", name="Sign out").click()
    spa.expect_signed_out()
    # OAuth: the tenant's redirect comes back to BFF_PUBLIC_URL, Vite's origin, and so does the user.
    page.get_by_role("link", name="Sign in with CyberArk").click()
    sign_in_at_the_tenant(page)
    spa.expect_home("Alice Password")
    assert page.url.startswith(vite.url + "/")


def test_an_spa_on_its_own_origin_against_make_run(context: BrowserContext, tmp_path: Path) -> None:
    app = Starlette()
    app.mount("/", StaticFiles(directory=PAGE, html=True))
    with ServerThread(app) as spa_origin:
        running = MakeRun(
            free_port(), free_port(), tmp_path / "make-run.log", env={"BFF_ALLOWED_ORIGINS": spa_origin.url}
        )
        try:
            bff = running.printed_url().rstrip("/")
            page = context.new_page()
            page.goto(f"{spa_origin.url}/index.html?bff={bff}")
            page.wait_for_function("() => typeof window.call === 'function'")
            step = call(page, "POST", "/auth/login", {"username": "alice@example.com"})
            assert step["status"] == 200, step
            done = call(
                page,
                "POST",
                "/auth/advance",
                {"mechanism": mechanism(step["body"], "UP"), "answer": "alice-pass-1"},
            )
            assert done["body"]["status"] == "authenticated", done
            assert call(page, "POST", "/api/UPRest/GetUPData", {})["status"] == 200
            # OAuth from that origin, back to it.
            page.get_by_role("link", name="Sign in with CyberArk").click()
            sign_in_at_the_tenant(page)
            page.wait_for_url(f"{spa_origin.url}/after.html")
        finally:
            running.stop()


def test_the_demo_spa_under_make_run_names_its_simulator(context: BrowserContext, tmp_path: Path) -> None:
    sim_port = free_port()
    running = MakeRun(free_port(), sim_port, tmp_path / "make-run.log")
    try:
        url = running.printed_url()
        page = context.new_page()
        spa = Spa(page).open(url)
        spa.username("demo@example.com").answer("Password", "Demo-pass-1")
        expect(page.get_by_role("group", name="Choose how to verify")).to_be_visible()
        # The status line does not say the legend again.
        assert "Choose how to verify" not in spa.status.inner_text()
        spa.choose("Mobile Authenticator")
        hint = page.locator("#demo-approve-command")
        # The simulator's real port, not a hard-coded 9001.
        expect(hint).to_have_text(
            f"curl -X POST http://127.0.0.1:{sim_port}/_sim/oob/demo@example.com/approve"
        )
        httpx.post(f"{running.sim_url}/_sim/oob/demo@example.com/approve", timeout=10).raise_for_status()
        spa.expect_home("Demo User")
    finally:
        running.stop()
