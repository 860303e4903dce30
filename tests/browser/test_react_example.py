"""examples/react-vite built for production and driven once in Chromium: the BFF serves its dist/ (as a team's
ingress would), a push login with the number, a federated user, /api, the sessions list and logout."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, expect
from playwright.sync_api import Error as PlaywrightError

from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import ROOT, SECRET, PageProblems, Shots
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.ports import free_port

EXAMPLE = ROOT / "examples" / "react-vite"


@pytest.fixture(scope="module")
def dist() -> Path:
    """A fresh production build (`npm run build`: type-check, then vite build) of the example."""
    if not (EXAMPLE / "node_modules" / ".bin" / "vite").exists():
        pytest.fail("examples/react-vite/node_modules is missing: `make js` installs it (npm ci)")
    subprocess.run(["npm", "run", "build"], cwd=EXAMPLE, check=True, capture_output=True, timeout=180)
    return EXAMPLE / "dist"


@pytest.fixture
def example_bff(
    dist: Path, sim_server: ServerThread, redis_url: str, tls_files: dict[str, str]
) -> Iterator[ServerThread]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_static_dir=dist,
        bff_poll_min_interval=0,
    )
    with ServerThread(
        create_app(settings), ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]
    ) as server:
        yield server


@pytest.mark.timeout(300)  # the production build (type-check, vite build) is part of its set-up
def test_the_react_example_signs_in_calls_the_api_and_signs_out(
    context: BrowserContext, example_bff: ServerThread, sim: Sim, shots: Shots, problems: PageProblems
) -> None:
    page = context.new_page()
    page.goto(example_bff.url + "/")
    expect(page.get_by_role("link", name="Sign in with CyberArk")).to_have_attribute(
        "href", "/auth/oauth/login?return_to=%2F"
    )
    page.get_by_label("Username").fill("demo@example.com")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password").fill("Demo-pass-1")
    page.get_by_role("button", name="Verify", exact=True).click()
    page.get_by_role("button", name="Mobile Authenticator").click()
    number = page.get_by_test_id("number")
    expect(number).to_have_text(re.compile(r"^\d{2}$"))
    shots.take(page, "push-number")
    sim.approve("demo@example.com")

    expect(page.get_by_test_id("user")).to_have_text("Demo User")
    page.get_by_role("button", name="Call /api").click()
    expect(page.get_by_test_id("apps")).to_have_text("10 apps")
    expect(page.get_by_test_id("sessions").get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_test_id("sessions")).to_contain_text("(this one)")
    shots.take(page, "home")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Username")).to_be_visible()
    assert context.cookies() == []

    # A federated user: the identity provider's page opens in its own window while the app polls.
    page.get_by_label("Username").fill("fed@partner.example")
    with context.expect_page() as opened:
        page.get_by_role("button", name="Continue").click()
    idp = opened.value
    expect(page.get_by_role("heading", name="Continue at your identity provider")).to_be_visible()
    idp.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("user")).to_have_text("fed@partner.example", timeout=15_000)
    shots.take(page, "federated")
    assert problems.errors == []


@pytest.mark.timeout(300)
def test_npm_run_dev_proxies_the_bff_on_the_pages_origin(
    dist: Path, context: BrowserContext, bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    """The README's `npm run dev`: Vite's dev server, its proxy sending /auth and /api to a plain-http BFF."""
    port = free_port()
    env = {**os.environ, "BFF_URL": bff.url, "VITE_PORT": str(port)}
    # `npm run dev` runs `vite`; started in a process group of its own, so ending the group ends vite too.
    server = subprocess.Popen(
        ["npm", "run", "dev"],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        page = context.new_page()
        deadline = time.monotonic() + 60
        while True:
            try:
                page.goto(f"http://127.0.0.1:{port}/")
                break
            except PlaywrightError:
                assert time.monotonic() < deadline, "vite's dev server did not start"
                time.sleep(0.5)
        page.get_by_label("Username").fill("alice@example.com")
        page.get_by_role("button", name="Continue").click()
        page.get_by_label("Password").fill("alice-pass-1")
        page.get_by_role("button", name="Verify", exact=True).click()
        expect(page.get_by_test_id("user")).to_have_text("Alice Password")
        page.get_by_role("button", name="Call /api").click()
        expect(page.get_by_test_id("apps")).to_have_text(re.compile(r"^\d+ apps$"))
        # The session cookie belongs to the dev server's origin: the BFF was reached through its proxy.
        assert [c["domain"] for c in context.cookies()] == ["127.0.0.1"]
        assert problems.errors == []
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
