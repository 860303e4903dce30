"""The production image replayed without Docker: its wheel, a clean venv, non-root, read-only, its CMD/ENV.

No Docker engine runs here, so this test does what the Dockerfile does with the parts that matter: it builds
the wheel from exactly the files the build stage copies, installs it into a venv holding only the runtime
dependency closure, makes everything read-only, and starts the Dockerfile's own CMD with its own ENV as the
``nobody`` user against a real Redis. A drift in the Dockerfile (CMD, ENV, HEALTHCHECK) is a drift here too.
Every line the command writes must be JSON, uvicorn's parent process included (its ``--log-config``), and the
``REVISION`` build argument must reach ``bff_build_info`` (``ENV BFF_REVISION=$REVISION``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.markers import default_environment

from tests.deploy.dockerfile import ROOT, Dockerfile, Stage
from tests.deploy.replay import base_python, build_wheel, copy_build_context, make_runtime_venv
from tests.deploy.test_lock import parse_lock
from tests.support.ports import free_port

SECRET = "replay-secret-" + "s" * 40
#: What `make image` would pass as --build-arg REVISION (the commit).
REVISION = "0123456789abcdef0123456789abcdef01234567"
#: The address a trusted proxy connects from in this test; 127.0.0.1 stays an untrusted client.
PROXY_ADDRESS = "127.0.0.2"


def as_nobody(argv: list[str]) -> list[str]:
    """The command, run as nobody when we are root (as CI is); a non-root runner is non-root already."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", *argv]


def build_args(stage: Stage, given: dict[str, str]) -> dict[str, str]:
    """The stage's ``ARG`` values as ``docker build --build-arg`` leaves them: ``given``, else the default."""
    args = {}
    for instruction in stage.all("ARG"):
        name, _, default = instruction.rest.partition("=")
        args[name] = given.get(name, default.strip('"'))
    return args


def image_env(
    stage_env: list[tuple[str, str]],
    venv: Path,
    overrides: dict[str, str],
    args: dict[str, str] | None = None,
) -> dict[str, str]:
    """The Dockerfile's ENV applied in order over a minimal base, with /opt/venv mapped to ``venv``.

    ``$NAME`` in a value is an earlier ENV or one of ``args`` (the build arguments, which are not exported).
    """
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
    known = {**env, **(args or {})}
    for name, value in stage_env:
        value = re.sub(r"\$(\w+)|\$\{(\w+)\}", lambda m: known.get(m.group(1) or m.group(2), ""), value)
        env[name] = known[name] = value.replace("/opt/venv", str(venv))
    env.update(overrides)
    return env


def image_cmd(stage: Stage, venv: Path) -> list[str]:
    """The stage's CMD with /opt/venv (e.g. in the --log-config path) mapped to ``venv``."""
    return [part.replace("/opt/venv", str(venv)) for part in stage.cmd()]


def json_lines(output: str) -> list[dict[str, object]]:
    """Every non-empty line of ``output`` as a JSON object; the first line that is not one fails the test."""
    records = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"a line the image's command wrote is not JSON: {line[:300]!r}")
        assert isinstance(record, dict), line[:300]
        records.append(record)
    return records


def children_of(pid: int) -> list[int]:
    result = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            result.append(int(stat.parent.name))
    return result


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A scratch folder nobody can traverse into (pytest's own tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="bff-image-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(folder)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_image_recipe_runs_as_non_root_from_a_read_only_venv(shared_tmp: Path, redis_url: str) -> None:
    image = Dockerfile.read(ROOT / "Dockerfile")
    final = image.final

    context = copy_build_context(image.stage("build"), shared_tmp / "context")
    wheel = build_wheel(context, shared_tmp / "wheels")
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/main.py" in names
    assert not [n for n in names if n.split("/")[0] in {"simulator", "tests", "bench", "scripts", "web"}]

    venv = shared_tmp / "venv"
    installed = make_runtime_venv(wheel, venv, base_python(as_nobody), context / "requirements.lock")
    assert not {"pytest", "hypothesis", "mypy", "ruff", "schemathesis", "playwright"} & set(installed)
    # Exactly the lock (what applies to the venv's interpreter) and the app: no uvicorn[standard] extras.
    locked = parse_lock((context / "requirements.lock").read_text())
    full_version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    target = {**default_environment(), "python_full_version": full_version}
    assert set(installed) == {n for n, p in locked.items() if p.applies(target)} | {"cyberark-bff"}
    assert not {"watchfiles", "websockets", "pyyaml"} & set(installed)
    workdir = shared_tmp / final.one("WORKDIR").rest.strip("/")
    workdir.mkdir(parents=True)
    subprocess.run(["chmod", "-R", "a-w", str(venv), str(workdir)], check=True, timeout=30)

    port = free_port()
    env = image_env(
        final.env(),
        venv,
        {
            "BFF_PORT": str(port),
            "BFF_WORKERS": "2",
            "BFF_TRUSTED_PROXIES": f"{PROXY_ADDRESS}/32",
            "BFF_REDIS_URL": redis_url,
            "BFF_SESSION_SECRETS": SECRET,
            # Readiness checks Redis and config only; nothing here calls the tenant.
            "CYBERARK_TENANT_URL": "https://tenant.invalid",
        },
        build_args(final, {"REVISION": REVISION}),
    )
    assert env["BFF_ENV"] == "production", "the image must default to production's guards"
    assert env["BFF_REVISION"] == REVISION
    log = (shared_tmp / "server.log").open("wb")
    server = subprocess.Popen(
        as_nobody(image_cmd(final, venv)),
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        ready = _wait_ready(base, server, shared_tmp / "server.log")
        assert ready.json() == {"status": "ok", "store": "ok"}

        # exec in CMD: PID 1 is uvicorn itself (signals reach it), not a shell, and it is not root.
        assert Path(f"/proc/{server.pid}/comm").read_text().strip() != "sh"
        assert uid_of(server.pid) != 0
        workers = children_of(server.pid)
        assert len([w for w in workers if uid_of(w) != 0]) >= 2, "BFF_WORKERS=2 should start two workers"

        flags, check = final.healthcheck()
        assert subprocess.run(as_nobody(check), env=env, timeout=10).returncode == 0
        dead = {**env, "BFF_PORT": str(free_port())}
        assert subprocess.run(as_nobody(check), env=dead, timeout=10, capture_output=True).returncode != 0

        # --forwarded-allow-ips comes from BFF_TRUSTED_PROXIES: X-Forwarded-Proto is believed from the proxy
        # only, which decides whether an https Origin is the BFF's own.
        headers = {"X-CSRF": "1", "Origin": f"https://127.0.0.1:{port}", "X-Forwarded-Proto": "https"}
        with httpx.Client(transport=httpx.HTTPTransport(local_address=PROXY_ADDRESS), timeout=5) as proxy:
            assert proxy.post(f"{base}/auth/logout", headers=headers).status_code == 204
        with httpx.Client(timeout=5) as stranger:
            refused = stranger.post(f"{base}/auth/logout", headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == "origin"

        assert "server" not in ready.headers, "--no-server-header"

        # The build argument REVISION, through ENV BFF_REVISION, labels bff_build_info (no metrics port is
        # set here, so /metrics is on the main port).
        scraped = httpx.get(f"{base}/metrics", timeout=5).text
        build_info = re.search(r"^bff_build_info\{(.*)\} 1\.0$", scraped, re.MULTILINE)
        assert build_info and f'revision="{REVISION}"' in build_info.group(1), scraped[:2000]
    finally:
        _stop(server)
        log.close()
    assert server.returncode == 0, (shared_tmp / "server.log").read_text()[-3000:]
    output = (shared_tmp / "server.log").read_text()
    assert SECRET not in output and redis_url not in output
    # Every line is JSON: the parent process's start-up and shutdown (before and after any app code) as well
    # as each worker's, which only the --log-config of the command makes JSON.
    messages = [str(record.get("message", "")) for record in json_lines(output)]
    for said in ("Started parent process", "Uvicorn running on", "Application startup complete", "started"):
        assert any(m.startswith(said) for m in messages), (said, messages)
    assert any(m.startswith("Stopping parent process") for m in messages), messages


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=25)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def _wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> httpx.Response:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the image's command exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            response = httpx.get(f"{base}/readyz", timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"/readyz never answered 200:\n{log.read_text()[-3000:]}")
