"""BFF_METRICS_PORT: /metrics on its own listener and gone from the main port; what the metrics carry;
the API description off in production; probes and scrapes logged at DEBUG."""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import httpx
import pytest

from app.main import create_app
from app.observe.metrics import Metrics
from app.observe.metrics_listener import MetricsListener
from app.settings import Settings
from tests.e2e.test_observability import _metric
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import login_password
from tests.support.ports import free_port
from tests.support.waiting import settled


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


async def test_metrics_move_to_their_own_port_and_leave_the_main_one(make_bff: BffFactory, sim: Sim) -> None:
    port = free_port()
    bff = make_bff(bff_metrics_port=port)
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, "alice@example.com")
        main = await browser.get("/metrics")
        scrape = await browser.get(f"http://127.0.0.1:{port}/metrics")
        elsewhere = await browser.get(f"http://127.0.0.1:{port}/auth/session")
        posted = await browser.post(f"http://127.0.0.1:{port}/metrics")
    assert (main.status_code, main.json()) == (404, {"error": "not_found", "message": main.json()["message"]})
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    assert _metric(text, "bff_logins_total", mode="api", outcome="succeeded") == 1
    assert _metric(text, "bff_requests_total", route="unmatched", status="404") == 1
    assert (elsewhere.status_code, posted.status_code) == (404, 405)
    bff.stop()
    assert _refused(port), "the metrics port is still open after shutdown"


async def test_the_metrics_carry_process_build_in_flight_and_store_latency(
    make_bff: BffFactory, sim: Sim
) -> None:
    bff = make_bff(bff_revision="3f2a9c1")
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=15) as browser:
        await login_password(browser, "alice@example.com")
        assert (await browser.get("/auth/session")).status_code == 200
        text = (await browser.get("/metrics")).text
    assert re.search(r'^bff_build_info\{revision="3f2a9c1",version="[^"]+"\} 1\.0$', text, re.M), text
    assert re.search(r"^process_cpu_seconds_total \d", text, re.M)
    assert re.search(r"^process_resident_memory_bytes \d", text, re.M)
    # The scrape itself is the one request in flight on the main port.
    assert re.search(r"^bff_requests_in_flight 1\.0$", text, re.M)
    assert _metric(text, "bff_store_call_duration_seconds_count", op="set") >= 1
    # A session read (GET + PTTL; the idle slide is a PEXPIRE only once its slack is used up).
    assert _metric(text, "bff_store_call_duration_seconds_count", op="get_with_ttl") >= 1


async def test_the_metrics_listener_answers_only_metrics_and_survives_a_taken_port(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = Metrics()
    first = MetricsListener(metrics, free_port(), host="127.0.0.1")
    await first.start()
    second = MetricsListener(metrics, first.port, host="127.0.0.1")
    with caplog.at_level(logging.ERROR, logger="bff.metrics"):
        await second.start()  # as a second worker would: logged, not raised
    assert not second.serving
    assert "metrics port unavailable" in caplog.text
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", first.port)
        writer.write(b"garbage\r\n\r\n")
        answer = await reader.read()
        writer.close()
        assert answer.startswith(b"HTTP/1.1 400 ")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{first.port}", timeout=5) as client:
            head = await client.head("/metrics")
            assert head.status_code == 200 and head.content == b""
            assert (await client.get("/metrics?x=1")).status_code == 200
            assert (await client.get("/")).status_code == 404
    finally:
        await first.aclose()
        await second.aclose()
    assert _refused(first.port)


async def test_production_serves_no_api_description() -> None:
    def app_for(env: str) -> httpx.AsyncClient:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            bff_env=env,
            cyberark_tenant_url="https://abc1234.id.cyberark.cloud",
            bff_redis_url="redis://127.0.0.1:1/0",
            bff_session_secrets="p" * 40,
        )
        transport = httpx.ASGITransport(app=create_app(settings))
        return httpx.AsyncClient(transport=transport, base_url="http://bff")

    async with app_for("production") as production, app_for("development") as development:
        for path in ("/openapi.json", "/docs"):
            assert (await production.get(path)).status_code == 404
            assert (await development.get(path)).status_code == 200


async def test_probes_and_scrapes_log_at_debug(
    make_bff: BffFactory, sim: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    bff = make_bff()
    with caplog.at_level(logging.DEBUG, logger="bff.access"):
        async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
            for path in ("/healthz", "/readyz", "/metrics", "/auth/session"):
                await client.get(path)
        await settled(lambda: sum(r.name == "bff.access" for r in caplog.records) >= 4)
    levels = {r.route: r.levelname for r in caplog.records if r.name == "bff.access"}  # type: ignore[attr-defined]
    assert levels == {"/healthz": "DEBUG", "/readyz": "DEBUG", "/metrics": "DEBUG", "/auth/session": "INFO"}
