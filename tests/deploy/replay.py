"""The image's recipe replayed without Docker: build context, wheel, a clean venv of runtime dependencies.

Example::

    context = copy_build_context(image.stage("build"), tmp / "ctx")
    wheel = build_wheel(context, tmp / "wheels")
    make_runtime_venv(wheel, tmp / "venv", base_python(as_nobody), context / "requirements.lock")

The clean venv gets requirements.lock (hash-checked, no dependency resolution) and the wheel without its
dependencies, nothing else: a dependency the app imports but the lock lacks is missing there, as it would be
in the image, and ``pip check`` says when the lock does not satisfy the wheel's ``Requires-Dist``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.deploy.dockerfile import ROOT, Stage


def copy_build_context(build: Stage, target: Path) -> Path:
    """Copy what the build stage's ``COPY`` lines take from the context (and nothing else) into ``target``."""
    for sources, _destination, from_stage in build.copies():
        assert from_stage is None, "the build stage copies only from the context"
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target / source, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / source)
    return target


def build_wheel(context: Path, out: Path) -> Path:
    """``pip wheel --no-deps`` of the context, as the build stage does.

    With build isolation, like the image: pip fetches the build backend pyproject.toml names (setuptools)
    from the package index, or from its cache after the first run.
    """
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = list(out.glob("cyberark_bff-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def base_python(wrap: Callable[[list[str]], list[str]]) -> str:
    """A CPython of our major.minor that ``wrap`` (e.g. run as nobody) can execute.

    Ours may live where only root can reach (pyenv under /root); the system's 3.11 is ABI-compatible with the
    extension modules copied from our environment.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys._base_executable, f"/usr/local/bin/python{version}", f"/usr/bin/python{version}"]
    probe = f"import sys; assert '%d.%d' % sys.version_info[:2] == '{version}'"
    for candidate in candidates:
        if (
            Path(candidate).exists()
            and subprocess.run(
                # Through env: exec'ed by an already unprivileged process, as a shebang line would be.
                wrap(["env", candidate, "-c", probe]),
                capture_output=True,
                timeout=30,
            ).returncode
            == 0
        ):
            return candidate
    raise AssertionError(f"no Python {version} that the unprivileged user can run among {candidates}")


def make_runtime_venv(wheel: Path, venv: Path, base: str, lock: Path) -> list[str]:
    """A venv from ``base`` without pip, holding the lock and the wheel, as the build stage makes it.

    The locked dependencies come from the package index (or pip's cache), each checked against the lock's
    hashes, wheels only and without resolving anything, exactly like the Dockerfile's
    ``pip --python /opt/venv/bin/python install``; then the wheel, without dependencies; then ``pip check``.
    Returns the installed names.
    """
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(python)]
    for step in (
        ["install", "--quiet", "--require-hashes", "--no-deps", "--only-binary=:all:", "-r", str(lock)],
        ["install", "--quiet", "--no-deps", str(wheel)],
        ["check"],
    ):
        done = subprocess.run([*pip, *step], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"pip {step[0]}: " + done.stdout + done.stderr
    listing = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m; print(*(d.metadata['Name'] for d in m.distributions()))",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return sorted(canonicalize_name(n) for n in listing.stdout.split())
