"""Metrics count logins, sessions and tenant calls; X-Request-ID reaches the tenant; DEBUG logs stay clean."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import httpx
import pytest

from app.observe.logs import JsonFormatter, configure_logging
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, start


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


async def test_metrics_count_login_outcomes_sessions_and_tenant_calls(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        step = await start(browser, "alice@example.com")
        assert (await answer(browser, mechanism(step, "UP"), "wrong")).status_code == 401
        await login_password(browser, "alice@example.com")
        assert (await browser.post("/auth/logout")).status_code == 204
        text = (await browser.get("/metrics")).text
    assert _metric(text, "bff_logins_total", mode="api", outcome="started") == 2
    assert _metric(text, "bff_logins_total", mode="api", outcome="failed") == 1
    assert _metric(text, "bff_logins_total", mode="api", outcome="succeeded") == 1
    assert _metric(text, "bff_sessions_total", event="created") == 1
    assert _metric(text, "bff_sessions_total", event="logout") == 1
    assert _metric(text, "bff_tenant_call_duration_seconds_count", call="start") == 2
    assert _metric(text, "bff_tenant_call_duration_seconds_count", call="advance") == 2
    assert _metric(text, "bff_tenant_call_duration_seconds_count", call="logout") == 1
    assert _metric(text, "bff_requests_total", route="/auth/login", status="200") == 2


async def test_the_request_id_is_returned_and_forwarded_to_the_tenant(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        given = await browser.post(
            "/auth/login", json={"username": "alice@example.com"}, headers={"X-Request-ID": "spa-7f3a.1"}
        )
        invalid = await browser.post(
            "/auth/login", json={"username": "alice@example.com"}, headers={"X-Request-ID": "bad id\t!"}
        )
    assert given.headers["x-request-id"] == "spa-7f3a.1"
    generated = invalid.headers["x-request-id"]
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,128}", generated) and generated != "bad id\t!"
    starts = [c for c in sim.calls() if c["path"] == "/Security/StartAuthentication"]
    assert [c["headers"].get("x-request-id") for c in starts] == ["spa-7f3a.1", generated]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.json.format(record) + repr(record.__dict__))


@pytest.fixture
def debug_logs() -> Iterator[_Lines]:
    """The root logger as BFF_LOG_LEVEL=DEBUG leaves it, with every record kept."""
    root = logging.getLogger()
    saved = (
        root.level,
        {n: logging.getLogger(n).level for n in ("httpx", "httpcore", "hpack", "aiohttp", "redis")},
    )
    handler = _Lines()
    configure_logging("DEBUG")
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


async def test_debug_logging_never_prints_the_token_or_the_cookie(
    make_bff: BffFactory, sim: Sim, debug_logs: _Lines
) -> None:
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, "alice@example.com")
        cookie = browser.cookies["bff"]
        ok(await browser.get("/auth/session"))
        assert (await browser.post("/auth/logout")).status_code == 204
    bearer = next(
        c["headers"]["authorization"].removeprefix("Bearer ")
        for c in sim.calls()
        if c["path"] == "/Security/Logout"
    )
    text = "\n".join(debug_logs.lines)
    assert "bff.access" in text  # the capture did see the BFF's own lines
    for secret in (bearer, cookie, cookie.split(".")[0], "alice-pass-1"):
        assert secret not in text
