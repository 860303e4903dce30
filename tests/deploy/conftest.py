"""Fixtures of tests/deploy: the Kubernetes manifests rendered as an operator would build them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.deploy.dockerfile import ROOT
from tests.deploy.kustomize import Resource, build

FOLDER = ROOT / "deploy" / "kubernetes"
EXAMPLE = Path("overlays") / "example"


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/kubernetes with the secret file made as the operator would (a copy of the example)."""
    copy = tmp_path_factory.mktemp("k8s") / "kubernetes"
    shutil.copytree(FOLDER, copy, ignore=shutil.ignore_patterns("secret.env"))
    overlay = copy / EXAMPLE
    shutil.copy(overlay / "secret.env.example", overlay / "secret.env")
    return copy


@pytest.fixture(scope="module")
def rendered(tree: Path) -> list[Resource]:
    return build(tree / EXAMPLE)
