"""``python -m simulator``: help, a real process serving a users file, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args], cwd=ROOT, capture_output=True, text=True, timeout=30
    )


def test_help_lists_every_option() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for option in (
        "--port",
        "--host",
        "--users",
        "--ssl-certfile",
        "--ssl-keyfile",
        "--pod-fqdn",
        "--token-lifetime",
    ):
        assert option in out.stdout


def test_bad_users_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(json.dumps([{"username": "x", "challenges": [["UP"]]}]))
    out = _run("--users", str(users), "--port", str(free_port()))
    assert out.returncode == 2
    assert out.stderr.strip() == "simulator: user 'x': password is required"


def test_certfile_without_keyfile_is_refused() -> None:
    out = _run("--ssl-certfile", "cert.pem")
    assert out.returncode == 2 and "--ssl-keyfile" in out.stderr


@pytest.fixture
def sim_process(tmp_path: Path) -> Iterator[str]:
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps({"users": [{"username": "cli@example.com", "password": "cli", "challenges": [["UP"]]}]})
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulator",
            "--port",
            str(port),
            "--users",
            str(users),
            "--pod-fqdn",
            f"127.0.0.1:{port}",
            "--token-lifetime",
            "77",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_process_serves_the_users_file_and_options(sim_process: str) -> None:
    with httpx.Client(base_url=sim_process, timeout=10) as c:
        # Addressed as localhost, the pod redirect names the configured host.
        port = sim_process.rsplit(":", 1)[1]
        hop = c.post(
            f"http://localhost:{port}/Security/StartAuthentication", json={"User": "cli@example.com"}
        )
        assert hop.json()["Result"] == {"PodFqdn": f"127.0.0.1:{port}"}
        package = c.post("/Security/StartAuthentication", json={"User": "cli@example.com"}).json()
        assert package["Result"]["PodFqdn"] == f"127.0.0.1:{port}"
        mech = package["Result"]["Challenges"][0]["Mechanisms"][0]
        body = {
            "SessionId": package["Result"]["SessionId"],
            "MechanismId": mech["MechanismId"],
            "Action": "Answer",
        }
        done = c.post("/Security/AdvanceAuthentication", json={**body, "Answer": "cli"})
        assert done.json()["Result"]["Summary"] == "LoginSuccess"
        assert c.get("/_sim/config").json()["token_lifetime"] == 77
