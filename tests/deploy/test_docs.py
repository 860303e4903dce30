"""The repository's documents: the license pyproject names, a changelog, a security policy, live links."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from tests.deploy.dockerfile import ROOT

#: sha256 of the Apache License 2.0 as the ASF publishes it (LICENSE-2.0.txt), appendix included.
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
DOCUMENTS = sorted(
    [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "SECURITY.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "deploy").rglob("README.md"),
    ]
)


def test_license_is_the_full_apache_2_text_that_pyproject_names() -> None:
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"
    assert hashlib.sha256((ROOT / "LICENSE").read_bytes()).hexdigest() == APACHE_2_SHA256


def test_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "Keep a Changelog" in text
    sections = re.findall(r"^## \[([^\]]+)\]", text, re.MULTILINE)
    assert sections[0] == "Unreleased" and len(sections) == len(set(sections))
    kinds = set(re.findall(r"^### (\w+)", text, re.MULTILINE))
    assert kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    unreleased = text.split("## [", 2)[1]
    for topic in ("Security", "Federated login", "OAuth 2.0 login", "Redis session cache", "Operability"):
        assert topic in unreleased, topic
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"## [{version}]" in text


def test_security_policy_says_how_to_report_what_is_supported_and_what_is_protected() -> None:
    headings = re.findall(r"^## (.+)$", (ROOT / "SECURITY.md").read_text(), re.MULTILINE)
    assert headings == ["Reporting a vulnerability", "Supported versions", "What the BFF protects"]


def test_performance_and_simulator_details_live_in_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    performance = (ROOT / "docs" / "performance.md").read_text()
    simulator = (ROOT / "docs" / "simulator.md").read_text()
    for moved, home in [
        ("| change (in order) | instructions per call |", performance),
        ("BFF_SEED_CMD=", performance),
        ("**`make bench`** (`bench/run.sh`", performance),
        ("python -m bench.soak --duration 600", performance),
        ("/Security/StartAuthentication -d", simulator),
    ]:
        assert moved in home and moved not in readme, moved
    assert "(docs/performance.md)" in readme and "(docs/simulator.md)" in readme
    for link in ("(LICENSE)", "(SECURITY.md)", "(CHANGELOG.md)"):
        assert link in readme


@pytest.mark.parametrize("document", DOCUMENTS, ids=[str(d.relative_to(ROOT)) for d in DOCUMENTS])
def test_relative_links_resolve(document: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", document.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{document.name} links to {target}, which does not exist"
