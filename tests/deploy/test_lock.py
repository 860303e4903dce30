"""requirements.lock matches pyproject.toml: every runtime dependency pinned, hashed, and nothing else on top.

The lock is what the image installs (``pip install --require-hashes --no-deps -r requirements.lock``), so
a dependency added to pyproject.toml without ``make lock`` would be missing from the image, and one removed
would still ship. Pure Python and offline: the lock is parsed here, and the dependencies of each locked
package come from the venv's installed metadata (``make venv`` installs the lock first: the locked versions).
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from dataclasses import dataclass, field

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from tests.deploy.dockerfile import ROOT, Dockerfile

LOCK = ROOT / "requirements.lock"
PROJECT = "cyberark-bff (pyproject.toml)"
#: The image's interpreter: Linux, CPython 3.11 (what the markers in the lock are evaluated for).
IMAGE_ENV = {
    **default_environment(),
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "python_version": "3.11",
}
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;\s*(?P<marker>[^\\]+?))?\s*\\?$"
)
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}\s*\\?$")


@dataclass
class Locked:
    """One pinned package of the lock."""

    name: NormalizedName
    version: Version
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)

    def applies(self, env: dict[str, str] = IMAGE_ENV) -> bool:
        return self.marker is None or self.marker.evaluate(env)


def parse_lock(text: str) -> dict[NormalizedName, Locked]:
    """The lock's packages by name; any line that is not a pin, a hash or a comment is an error."""
    packages: dict[NormalizedName, Locked] = {}
    current: Locked | None = None
    in_via = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not raw.startswith((" ", "#")):
            match = PIN.match(line)
            assert match, f"requirements.lock:{number}: not an exact pin: {line!r}"
            name = canonicalize_name(match.group("name"))
            assert name not in packages, f"requirements.lock:{number}: {name} pinned twice"
            marker = match.group("marker")
            current = packages[name] = Locked(
                name, Version(match.group("version")), Marker(marker) if marker else None
            )
            in_via = False
        elif line.startswith("--hash="):
            assert current is not None and HASH.match(line), f"requirements.lock:{number}: {line!r}"
            current.hashes.append(line.split(":", 1)[1].rstrip(" \\"))
        elif line.startswith("#"):
            comment = line.lstrip("#").strip()
            if current is None:
                continue  # the header
            if comment.startswith("via"):
                rest = comment.removeprefix("via").strip()
                in_via = not rest
                if rest:
                    current.via.append(rest)
            elif in_via and comment:
                current.via.append(comment)
        else:
            raise AssertionError(f"requirements.lock:{number}: unexpected {line!r}")
    return packages


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


@pytest.fixture(scope="module")
def lock() -> dict[NormalizedName, Locked]:
    return parse_lock(LOCK.read_text())


def test_every_pin_is_exact_and_hashed(lock: dict[NormalizedName, Locked]) -> None:
    assert lock, "requirements.lock pins nothing"
    unhashed = [name for name, package in lock.items() if not package.hashes]
    assert not unhashed, f"pinned without a hash: {unhashed} (run `make lock`)"


def test_every_runtime_dependency_is_locked_within_its_specifier(lock: dict[NormalizedName, Locked]) -> None:
    for requirement in runtime_requirements():
        name = canonicalize_name(requirement.name)
        if requirement.marker is not None and not requirement.marker.evaluate(IMAGE_ENV):
            continue
        assert name in lock, (
            f"{requirement} is in pyproject.toml but not in requirements.lock: run `make lock`"
        )
        locked = lock[name]
        assert requirement.specifier.contains(locked.version, prereleases=True), (
            f"requirements.lock has {name}=={locked.version}, pyproject.toml asks {requirement}: "
            "run `make lock`"
        )
        assert locked.applies(), f"{name} is locked for other platforms only ({locked.marker})"


def test_nothing_extra_at_the_top_level(lock: dict[NormalizedName, Locked]) -> None:
    declared = {canonicalize_name(r.name) for r in runtime_requirements()}
    direct = {name for name, package in lock.items() if PROJECT in package.via}
    assert direct == declared, (
        f"locked as direct but not in pyproject.toml: {sorted(direct - declared)}; "
        f"in pyproject.toml but not locked as direct: {sorted(declared - direct)} (run `make lock`)"
    )
    orphans = [name for name, package in lock.items() if not package.via]
    assert not orphans, f"locked for no reason: {orphans}"


def test_the_lock_is_closed_under_the_dependencies_of_what_it_pins(
    lock: dict[NormalizedName, Locked],
) -> None:
    """Every locked package's own requirements (with the extras asked of it) are locked too, in range.

    ``--no-deps`` in the image means a missing one would be missing there, not fetched. The requirements come
    from the venv's installed metadata, which ``make venv`` takes from the lock (checked first).
    """
    extras: dict[NormalizedName, set[str]] = {}
    for requirement in runtime_requirements():
        extras.setdefault(canonicalize_name(requirement.name), set()).update(requirement.extras)
    wanted = [name for name, package in lock.items() if package.applies(default_environment())]
    for name in wanted:
        installed = Version(importlib.metadata.version(name))
        assert installed == lock[name].version, (
            f"the venv has {name} {installed}, the lock {lock[name].version}: run `make venv`"
        )
    for name in wanted:
        for spec in importlib.metadata.requires(name) or []:
            requirement = Requirement(spec)
            asked = extras.get(name, set()) | {""}
            env = default_environment()
            if requirement.marker is not None and not any(
                requirement.marker.evaluate({**env, "extra": extra}) for extra in asked
            ):
                continue
            dependency = canonicalize_name(requirement.name)
            assert dependency in lock, f"{name} needs {requirement}, which requirements.lock lacks"
            assert requirement.specifier.contains(lock[dependency].version, prereleases=True), (
                f"{name} needs {requirement}, the lock has {lock[dependency].version}"
            )
            extras.setdefault(dependency, set()).update(requirement.extras)


def test_no_development_server_extras_in_the_lock(lock: dict[NormalizedName, Locked]) -> None:
    # uvicorn[standard] would bring these; the BFF needs only uvloop and httptools of it.
    assert not {"watchfiles", "websockets", "pyyaml"} & set(lock)
    assert {"uvicorn", "uvloop", "httptools"} <= set(lock)


def test_the_image_installs_the_lock_with_hashes_and_the_app_without_dependencies() -> None:
    build = Dockerfile.read(ROOT / "Dockerfile").stage("build")
    assert ["requirements.lock", "pyproject.toml", "README.md"] in [c[0] for c in build.copies()]
    script = build.one("RUN").rest
    assert re.search(r"install --require-hashes --no-deps --only-binary=:all: -r requirements\.lock", script)
    installs = re.findall(r"pip --python /opt/venv/bin/python install ([^&]*)", script)
    assert len(installs) == 2 and all("--no-deps" in i for i in installs), installs


def test_the_parser_refuses_what_pip_would_not_check() -> None:
    with pytest.raises(AssertionError, match="not an exact pin"):
        parse_lock("fastapi>=0.115 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    unhashed = parse_lock("fastapi==0.115.0\n    # via cyberark-bff (pyproject.toml)\n")
    assert unhashed["fastapi"].hashes == [] and unhashed["fastapi"].via == [PROJECT]
    with pytest.raises(AssertionError):
        parse_lock("fastapi==0.115.0 \\\n    --hash=md5:abc\n")
