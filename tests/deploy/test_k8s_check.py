"""`make k8s-check` (scripts/k8s-check.sh): what an overlay lacks before kustomize, said plainly; and the
monitoring objects are an opt-in component, so the example overlay applies on a cluster without their CRDs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import EXAMPLE, FOLDER
from tests.deploy.dockerfile import ROOT
from tests.deploy.kustomize import KustomizeError, Resource, build

SCRIPT = ROOT / "scripts" / "k8s-check.sh"
GOOD = "BFF_SESSION_SECRETS=" + "a" * 64 + "\nBFF_REDIS_URL=rediss://:pw@redis.internal:6380/0\n"


@pytest.fixture
def overlay(tmp_path: Path) -> Path:
    copy = tmp_path / "kubernetes"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("secret.env"))
    return copy / EXAMPLE


def check(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed argv
        [str(SCRIPT), str(folder)], capture_output=True, text=True, timeout=30
    )


def test_a_missing_secret_file_is_named_with_the_command_that_makes_it(overlay: Path) -> None:
    with pytest.raises(KustomizeError):
        build(overlay)  # what kustomize would stop on, less helpfully
    result = check(overlay)
    assert result.returncode == 1
    assert f"{overlay}/secret.env is missing: cp {overlay}/secret.env.example" in result.stderr


def test_the_examples_placeholders_are_named(overlay: Path) -> None:
    shutil.copy(overlay / "secret.env.example", overlay / "secret.env")
    result = check(overlay)
    assert result.returncode == 1
    assert "BFF_SESSION_SECRETS still has the example's replace-me value" in result.stderr
    assert "BFF_REDIS_URL still has the example's replace-me value" in result.stderr


def test_a_missing_key_is_named_and_oauth_needs_its_secret(overlay: Path) -> None:
    (overlay / "secret.env").write_text("BFF_REDIS_URL=rediss://:pw@redis.internal:6380/0\n")
    assert "does not set BFF_SESSION_SECRETS" in check(overlay).stderr
    (overlay / "secret.env").write_text(GOOD)
    assert check(overlay).returncode == 0
    kustomization = overlay / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text().replace("# - BFF_LOGIN_MODES=api,oauth", "- BFF_LOGIN_MODES=api,oauth")
    )
    result = check(overlay)
    assert result.returncode == 1 and "does not set CYBERARK_OAUTH_CLIENT_SECRET" in result.stderr


def test_a_complete_overlay_passes(overlay: Path) -> None:
    (overlay / "secret.env").write_text(GOOD)
    result = check(overlay)
    assert result.returncode == 0, result.stderr
    assert "ready for kubectl apply" in result.stdout


def test_the_make_target_runs_the_check() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "k8s-check:\n\t./scripts/k8s-check.sh $(OVERLAY)" in makefile


def test_the_example_overlay_leaves_the_prometheus_operator_objects_out(rendered: list[Resource]) -> None:
    kinds = {r["kind"] for r in rendered}
    assert not kinds & {"ServiceMonitor", "PrometheusRule"}, kinds
    assert not [r for r in rendered if r["apiVersion"].startswith("monitoring.coreos.com/")]
