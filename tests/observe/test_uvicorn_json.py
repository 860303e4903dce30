"""Every line a real uvicorn prints is JSON, started as the image starts it (the Dockerfile's flags plus
``--log-config app/observe/uvicorn_log.json``): start-up, the parent of several workers, warnings, a
traceback, shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
LOG_CONFIG = ROOT / "app" / "observe" / "uvicorn_log.json"
SECRET = "s" * 40


def image_command(port: int, *, workers: int = 1) -> list[str]:
    """The Dockerfile's CMD, with the log config it is to be given."""
    return [
        sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--proxy-headers", "--forwarded-allow-ips", "", "--no-server-header",
        "--no-access-log", "--timeout-graceful-shutdown", "20", "--log-config", str(LOG_CONFIG),
    ]  # fmt: skip


def production_env(**extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "CYBERARK_", "OTEL_"))}
    return {
        **clean,
        "PYTHONPATH": str(ROOT),
        "BFF_ENV": "production",
        "CYBERARK_TENANT_URL": "https://abc1234.id.cyberark.cloud",
        # Nothing listens there: the store is unreachable from the start.
        "BFF_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "BFF_SESSION_SECRETS": SECRET,
        **extra,
    }


def json_lines(output: str) -> list[dict[str, Any]]:
    """Every line of ``output`` parsed; a line that is not one JSON object fails the test, quoted."""
    parsed = []
    for line in output.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}\n--- whole output ---\n{output}")
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


def run(command: list[str], env: dict[str, str], cwd: Path, until: Any) -> str:
    """Start ``command``, call ``until()`` once it serves (or it exits), then SIGTERM; stdout + stderr."""
    out = cwd / "out.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
        try:
            until(proc)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    text = out.read_text()
    assert "\x1b[" not in text, "ANSI escapes in the output"
    return text


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "uvicorn exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("uvicorn did not serve /healthz")


@pytest.mark.slow
def test_every_line_is_json_from_start_to_shutdown_with_two_workers(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def serve(proc: subprocess.Popen[bytes]) -> None:
        wait_healthy(url, proc)
        assert httpx.get(url + "/readyz", timeout=5).status_code == 503
        assert httpx.get(url + "/nowhere", timeout=5).status_code == 404
        # A request uvicorn itself refuses: its warning must be JSON too.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            raw.recv(1024)
        time.sleep(0.5)  # both workers have logged their start-up lines by now

    lines = json_lines(run(image_command(port, workers=2), production_env(), tmp_path, serve))
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Started parent process") for m in messages), messages
    assert any(m.startswith("Uvicorn running on") for m in messages), messages
    assert any(m == "Application startup complete." for m in messages), messages
    assert any(m.startswith("Finished server process") for m in messages), messages
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert not any("color_message" in line for line in lines)
    assert any(m == "Invalid HTTP request received." for m in messages), messages
    # An unreachable Redis is said at start-up, once per worker, without waiting for a request.
    unreachable = [line for line in lines if line["message"].startswith("session store unreachable")]
    assert len(unreachable) == 2 and all(line["level"] == "warning" for line in unreachable)
    assert SECRET not in "".join(messages)


@pytest.mark.slow
def test_a_start_up_failure_is_one_json_line_with_its_traceback(tmp_path: Path) -> None:
    # A CA bundle that is not PEM: the lifespan fails as the tenant client is made.
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    env = production_env(CYBERARK_CA_BUNDLE=str(bundle))

    def fail(proc: subprocess.Popen[bytes]) -> None:
        proc.wait(timeout=30)

    output = run(image_command(free_port()), env, tmp_path, fail)
    lines = json_lines(output)
    tracebacks = [line for line in lines if "Traceback (most recent call last)" in json.dumps(line)]
    assert tracebacks, output
    assert tracebacks[0]["level"] == "error"
    assert any(line["message"] == "Application startup failed. Exiting." for line in lines)
