"""The browser client package (clients/js, as web/ serves it) in Chromium against the real BFF and simulator.

The demo SPA's own tests drive the package through screens (push with its number, an emailed code, security
questions, federated poll and PIN, OAuth, a wrong password or PIN, a lockout, logout). These call the package
as an SPA's code does, for what screens do not show: the abort that cancels at the BFF, a wrong emailed code,
the BFF's own 429 with its wait, the session read when signed out, and the package on another origin.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from app.main import create_app
from app.settings import Settings
from tests.browser.conftest import SECRET, WEB, PageProblems
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.ports import free_port
from tests.support.redis_server import RedisServer

PACKAGE = "/vendor/cyberark-bff-client/index.js"
# Logins of one username the BFF lets through per minute: the 429 test spends them on a name of its own.
PER_USER = 3


def _bff(
    sim_server: ServerThread, redis_url: str, tls: dict[str, str], port: int, **extra: Any
) -> ServerThread:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_url,
        bff_session_secrets=SECRET,
        bff_static_dir=WEB,
        bff_poll_min_interval=0,
        bff_login_rate_limit=f"1000/60,{PER_USER}/60",
        **extra,
    )
    return ServerThread(create_app(settings), port=port, ssl_certfile=tls["cert"], ssl_keyfile=tls["key"])


@pytest.fixture(scope="module")
def bff(
    sim_server: ServerThread, redis_server: RedisServer, tls_files: dict[str, str]
) -> Iterator[ServerThread]:
    """One BFF over https for the module (each test has users of its own), serving web/ and the package."""
    with _bff(sim_server, redis_server.url, tls_files, free_port()) as server:
        yield server


def _page(context: BrowserContext, bff: ServerThread) -> Page:
    """A page of the BFF's origin (the demo SPA, left alone) where a test's script imports the package."""
    page = context.new_page()
    page.goto(bff.url + "/")
    page.wait_for_selector("#view-username:not([hidden])")
    return page


PUSH_THEN_ABORT = """async ([pkg]) => {
  const { createBffClient } = await import(pkg);
  const bff = createBffClient({ pollInterval: 200 });
  const controller = new AbortController();
  const numbers = [];
  try {
    await bff.login("demo@example.com", {
      challenge: (c) => c.index === 0
        ? { mechanism: c.mechanisms[0].id, answer: "Demo-pass-1" }
        : { mechanism: c.mechanisms.find((m) => m.label === "Mobile Authenticator").id, action: "start_oob" },
      pending: (p) => { numbers.push(p.number); setTimeout(() => controller.abort(), 600); },
      signal: controller.signal,
    });
    return { signedIn: true };
  } catch (error) {
    const poll = await bff.fetch("/auth/poll", { method: "POST", body: {} });
    return { name: error.name, numbers, poll: poll.status, code: (await poll.json()).error };
  }
}"""


def test_an_aborted_login_is_cancelled_at_the_bff_and_the_tenant(
    context: BrowserContext, bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    page = _page(context, bff)
    result = page.evaluate(PUSH_THEN_ABORT, [PACKAGE])
    assert result["name"] == "AbortError"
    assert len(result["numbers"]) == 1 and result["numbers"][0].isdigit()  # the push number, shown once
    # The BFF forgot the login (POST /auth/cancel) and cleaned up at the tenant.
    assert (result["poll"], result["code"]) == (409, "no_login_in_progress")
    assert any(c["path"] == "/Security/CleanupAuthentication" for c in sim.calls())
    assert problems.errors == []


WRONG_CODE = """async ([pkg]) => {
  const { createBffClient, BffError } = await import(pkg);
  const bff = createBffClient({ pollInterval: 200 });
  let answered = false;
  try {
    await bff.login("email@example.com", {
      challenge: (c) => c.index === 0
        ? { mechanism: c.mechanisms[0].id, answer: "email-pass-1" }
        : { mechanism: c.mechanisms[0].id, action: "start_oob" },
      pending: (p) => { if (!answered) { answered = true; p.answer("000000"); } },
    });
    return { signedIn: true };
  } catch (error) {
    return { isBffError: error instanceof BffError, status: error.status, code: error.code,
             session: await bff.session() };
  }
}"""


def test_a_wrong_emailed_code_is_a_login_failed_bff_error(
    context: BrowserContext, bff: ServerThread, sim: Sim, problems: PageProblems
) -> None:
    result = _page(context, bff).evaluate(WRONG_CODE, [PACKAGE])
    assert result == {"isBffError": True, "status": 401, "code": "login_failed", "session": None}
    answers = [c["json"] for c in sim.calls() if c["path"] == "/Security/AdvanceAuthentication"]
    assert [a.get("Answer") for a in answers if a.get("Action") == "Answer"][-1] == "000000"
    assert problems.errors == []


RATE_LIMITED = """async ([pkg, tries]) => {
  const { createBffClient } = await import(pkg);
  const bff = createBffClient();
  const results = [];
  for (let i = 0; i < tries; i++) {
    try {
      await bff.login("limited@example.com", {
        challenge: (c) => ({ mechanism: c.mechanisms[0].id, answer: "x" }),
      });
    } catch (error) {
      results.push({ status: error.status, code: error.code, retryAfter: error.retryAfter ?? null });
    }
  }
  return results;
}"""


def test_the_bffs_429_is_a_rate_limited_bff_error_with_its_wait(
    context: BrowserContext, bff: ServerThread, sim: Sim
) -> None:
    results = _page(context, bff).evaluate(RATE_LIMITED, [PACKAGE, PER_USER + 1])
    assert [r["code"] for r in results[:PER_USER]] == ["login_failed"] * PER_USER
    last = results[PER_USER]
    assert (last["status"], last["code"]) == (429, "rate_limited")
    assert 0 < last["retryAfter"] <= 60


SIGN_IN_AND_OUT = """async ([pkg]) => {
  const { createBffClient } = await import(pkg);
  const bff = createBffClient();
  const before = await bff.session();
  const user = await bff.login("alice@example.com", {
    challenge: (c) => ({ mechanism: c.mechanisms[0].id, answer: "alice-pass-1" }),
  });
  const session = await bff.session({ slide: false });
  const apps = await bff.api("/UPRest/GetUPData", { method: "POST", body: {} });
  const sessions = await bff.sessions.list();
  const logout = await bff.logout();
  return { before, user: user.username, login: session.login, apps: apps.status,
           sessions: sessions.map((s) => s.current), logout, after: await bff.session() };
}"""


def test_session_api_sessions_and_logout(context: BrowserContext, bff: ServerThread, sim: Sim) -> None:
    page = _page(context, bff)
    result = page.evaluate(SIGN_IN_AND_OUT, [PACKAGE])
    assert result == {
        "before": None,
        "user": "alice@example.com",
        "login": "api",
        "apps": 200,
        "sessions": [True],
        "logout": {"endSessionUrl": None},
        "after": None,
    }
    assert context.cookies() == []


# Split origin: the SPA on its own origin of the same site, the BFF on another, with CORS for the SPA's.
_HAS_CORS = importlib.util.find_spec("app.security.cors") is not None


@pytest.mark.skipif(not _HAS_CORS, reason="needs the BFF's CORS (issue 20, app/security/cors.py)")
def test_the_package_on_another_origin_of_the_same_site(
    context: BrowserContext, sim_server: ServerThread, redis_server: RedisServer, tls_files: dict[str, str],
    sim: Sim, problems: PageProblems,
) -> None:  # fmt: skip
    spa_port = free_port()
    spa_origin = f"https://127.0.0.1:{spa_port}"
    spa = Starlette()
    spa.mount("/", StaticFiles(directory=WEB, html=True))
    tls = {"ssl_certfile": tls_files["cert"], "ssl_keyfile": tls_files["key"]}
    split = _bff(sim_server, redis_server.url, tls_files, free_port(), bff_allowed_origins=spa_origin)
    with ServerThread(spa, port=spa_port, **tls), split as split_bff:
        page = context.new_page()
        page.goto(spa_origin + "/favicon.svg")  # a page of the SPA's origin; the package comes from it too
        script = SIGN_IN_AND_OUT.replace("createBffClient()", "createBffClient({ baseUrl: BASE })")
        script = script.replace("async ([pkg]) => {", "async ([pkg, BASE]) => {")
        result = page.evaluate(script, [spa_origin + PACKAGE, split_bff.url])
    assert result["before"] is None and result["after"] is None
    assert (result["user"], result["apps"], result["sessions"]) == ("alice@example.com", 200, [True])
    assert problems.errors == []
