"""`make run`'s process (scripts/run_dev.py): after the banner, every line is JSON that names which of the two
servers wrote it, and none carries an ANSI escape."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_run_dev_lines_are_json_and_say_which_server_wrote_them(tmp_path: Path) -> None:
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "CYBERARK_"))}
    env["BFF_COOKIE_SECUR"] = "false"  # a typo: warned about, as JSON
    out = tmp_path / "run.log"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "scripts/run_dev.py", "--port", str(port), "--sim-port", str(sim_port)],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            login = httpx.post(
                f"http://127.0.0.1:{port}/auth/login",
                json={"username": "demo@example.com"},
                headers={"X-CSRF": "1"},
                timeout=10,
            )
            assert login.status_code == 200
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    text = out.read_text()
    assert "\x1b[" not in text
    # The welcome banner for a person (URLs, demo user) is the one block of plain text; all else is JSON.
    all_lines = text.splitlines()
    plain_at = [i for i, line in enumerate(all_lines) if line.strip() and not line.startswith("{")]
    plain = [all_lines[i].strip() for i in plain_at]
    # One block: no JSON line between its first and last line.
    assert not any(line.startswith("{") for line in all_lines[plain_at[0] : plain_at[-1] + 1]), text
    assert plain[0] == "CyberArk Identity BFF (development)", text
    assert any(line.endswith("/_sim/oob/demo@example.com/approve") for line in plain), text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert {line["source"] for line in lines} <= {"bff", "simulator", "run_dev"}
    running = {line["source"] for line in lines if line["message"].startswith("Uvicorn running on")}
    assert running == {"bff", "simulator"}
    assert any(
        line["logger"] == "bff.access" and line["route"] == "/auth/login" and line["source"] == "bff"
        for line in lines
    )
    typo = [line for line in lines if line.get("variable") == "BFF_COOKIE_SECUR"]
    assert typo and typo[0]["level"] == "warning" and "BFF_COOKIE_SECURE" in typo[0]["message"]
