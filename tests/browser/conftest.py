"""Real-browser fixtures: Debian's Chromium under Playwright, the demo SPA served by a real BFF over https.

The tests here are plain ``def`` tests: Playwright's sync API cannot run inside pytest-asyncio's loop.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, sync_playwright

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SECRET = "browser-secret-" + "x" * 32


def spki_sha256(cert_pem: str) -> str:
    """Base64 SHA-256 of a certificate's SubjectPublicKeyInfo, as Chromium's SPKI allow-list wants it."""
    cert = x509.load_pem_x509_certificate(Path(cert_pem).read_bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")


# Package scope: Playwright's sync API keeps its own event loop alive, which must be gone before other
# packages' asyncio tests run.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs it (apt-get install -y chromium)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def chromium(playwright: Playwright, tls_files: dict[str, str]) -> Iterator[Browser]:
    """Headless Chromium that trusts exactly the throwaway server certificate, no other bad certificate."""
    trust = f"--ignore-certificate-errors-spki-list={spki_sha256(tls_files['cert'])}"
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, trust], timeout=30_000
    )
    yield browser
    browser.close()


@pytest.fixture
def spa_bff(sim_server: ServerThread, redis_url: str, tls_files: dict[str, str]) -> Iterator[ServerThread]:
    """The BFF over https with its production cookie settings (Secure, ``__Host-``), serving web/."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_static_dir=WEB,
    )
    with ServerThread(
        create_app(settings), ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]
    ) as server:
        yield server


class Shots:
    """Numbered screenshots kept under test-output/<test>/ (git-ignored): ``shots.take(page, "home")``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def take(self, page: Page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    folder = ROOT / "test-output" / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return Shots(folder)


class PageProblems:
    """What a page reported that a good SPA never causes: uncaught errors and CSP violations."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.errors.append(f"console: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"pageerror: {error}")

    def watch(self, page: Page) -> Page:
        page.on("console", self.on_console)
        page.on("pageerror", self.on_page_error)
        return page


@pytest.fixture
def problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def context(chromium: Browser, problems: PageProblems) -> Iterator[BrowserContext]:
    """A fresh browser profile (own cookie jar); every page opened in it is watched for problems."""
    ctx = chromium.new_context(viewport={"width": 1000, "height": 900})
    ctx.set_default_timeout(10_000)
    ctx.on("page", problems.watch)
    yield ctx
    ctx.close()
