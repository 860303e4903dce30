"""`make run` installs what running needs and nothing more; the dev tools come with the test targets."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def planned_installs(target: str) -> list[str]:
    """The pip install lines `make TARGET` would run in a fresh clone (-B: as if nothing were installed)."""
    result = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", target],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [
        line for line in result.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line
    ]


def test_make_run_installs_the_runtime_dependencies_only() -> None:
    installs = planned_installs("run")
    # The hash-checked lock (what the image ships), then the app itself: never the dev extra.
    pip = ".venv/bin/python -m pip install -q --disable-pip-version-check"
    assert installs == [f"{pip} --require-hashes --no-deps -r requirements.lock", f"{pip} -e ."], installs


def test_the_test_targets_add_the_dev_tools() -> None:
    for target in ("test", "lint", "unit"):
        assert any(line.endswith("-e '.[dev]'") for line in planned_installs(target)), target
