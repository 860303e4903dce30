"""The logs and metrics of whole logins and logouts name no password, code, token or cookie."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.observe.logs import JsonFormatter
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import Sim
from tests.support.bff_login import answer, mechanism, ok, start, start_oob


class Capture(logging.Handler):
    """Keeps every record as the production JSON line and as the record's full attribute dump."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.formatter_.format(record))
        self.lines.append(repr(record.__dict__))


@pytest.fixture
def captured() -> Iterator[Capture]:
    """Everything at INFO (the default BFF_LOG_LEVEL), and the BFF's own loggers down to DEBUG."""
    root, bff = logging.getLogger(), logging.getLogger("bff")
    handler, levels = Capture(), (root.level, bff.level)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    bff.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        bff.setLevel(levels[1])


async def test_logs_of_a_full_login_and_logout_carry_no_secret(
    bff: ServerThread, sim: Sim, sim_server: ServerThread, captured: Capture
) -> None:
    cookies: list[str] = []
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        step = await start(browser, "email@example.com")
        assert (await answer(browser, mechanism(step, "UP"), "Wrong-Pass-99")).status_code == 401

        step = await start(browser, "email@example.com")
        cookies.append(browser.cookies["bff-login"])
        email = mechanism(ok(await answer(browser, mechanism(step, "UP"), "email-pass-1")), "EMAIL")
        ok(await start_oob(browser, email))
        code = sim.code("email@example.com")
        assert (await answer(browser, email, "000000" if code != "000000" else "111111")).status_code == 401

        step = await start(browser, "email@example.com")
        email = mechanism(ok(await answer(browser, mechanism(step, "UP"), "email-pass-1")), "EMAIL")
        ok(await start_oob(browser, email))
        code = sim.code("email@example.com")
        assert ok(await answer(browser, email, code))["status"] == "authenticated"
        cookies.append(browser.cookies["bff"])
        ok(await browser.get("/auth/session"))
        assert (await browser.get("/auth/sessions")).status_code == 200
        state: Any = sim_server.config.app.state.sim
        with state.lock:
            tokens = [t.value for t in state.tokens.values()]
        assert (await browser.post("/auth/logout")).status_code == 204
        metrics = (await browser.get("/metrics")).text

    tenant_ids = {
        str(value)
        for call in sim.calls()
        for name, value in (call.get("json") or {}).items()
        if name in ("SessionId", "MechanismId")
    }
    secrets = {"email-pass-1", "Wrong-Pass-99", code, *tokens, *cookies, *tenant_ids}
    assert len(tokens) == 2 and len(tenant_ids) >= 4

    text = "\n".join(captured.lines)
    events = [json.loads(line).get("event") for line in captured.lines[::2]]
    # The logs did record the story (so the scan below looked at something).
    for event in ("login_started", "login_failed", "login_succeeded", "logout"):
        assert event in events, event
    routes = [json.loads(line).get("route") for line in captured.lines[::2] if '"bff.access"' in line]
    assert "/auth/advance" in routes and "/auth/logout" in routes
    for secret in secrets:
        assert secret not in text, secret[:12]
        assert secret not in metrics, secret[:12]
    # Cookie values are also never logged in part: their signature and payload halves.
    for cookie in cookies:
        payload, _, signature = cookie.rpartition(".")
        assert payload not in text and signature not in text
