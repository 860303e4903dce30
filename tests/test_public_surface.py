"""Each package of ``app`` shows a face, and what a module lists as public stays honest.

A package's ``__init__`` is a docstring and at most two names every caller uses (as starlette's are), so
importing one package never loads the house: callers import the module they need. A module that lists its
public names in ``__all__`` keeps that list honest as httpx keeps its own (tests/test_exported_members.py
there): every name listed exists and is public, and the list is sorted (isort-style, as ruff's RUF022 sorts:
CONSTANTS, then Classes, then functions and modules).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import app

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(app.__path__, "app.") if info.ispkg)
MODULES = sorted(
    ".".join(("app", *path.relative_to(Path(app.__file__).parent).with_suffix("").parts))
    for path in Path(app.__file__).parent.rglob("*.py")
    if path.name != "__init__.py"
)
LISTING = [name for name in MODULES if "__all__" in Path(importlib.util.find_spec(name).origin).read_text()]  # type: ignore[union-attr, arg-type]
#: A face names at most this many things.
FACE_NAMES = 2


def _isort_key(name: str) -> tuple[int, list[str | int]]:
    """CONSTANTS, then CamelCase, then the rest; numbers compare as numbers (``a2`` before ``a10``)."""
    kind = 0 if re.fullmatch(r"[A-Z0-9_]{2,}", name) else 1 if name[:1].isupper() else 2
    natural: list[str | int] = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return kind, natural


def _listed(package: ModuleType) -> list[str]:
    names = getattr(package, "__all__", None)
    assert isinstance(names, list), f"{package.__name__} has no __all__ list"
    return names


def test_every_package_is_checked() -> None:
    assert {"app.identity", "app.login", "app.observe", "app.proxy", "app.routes", "app.security"} <= set(
        PACKAGES
    )
    assert "app.sessions" in PACKAGES
    assert "app.sessions.service" in LISTING


def _public(package: ModuleType) -> set[str]:
    public = set()
    for member, value in vars(package).items():
        if member.startswith("_") or member == "annotations":
            continue
        # A submodule becomes an attribute of its package when anything imports it; that is not a re-export.
        if isinstance(value, ModuleType) and value.__name__ == f"{package.__name__}.{member}":
            continue
        public.add(member)
    return public


@pytest.mark.parametrize("name", PACKAGES)
def test_a_face_is_a_docstring_and_at_most_two_names(name: str) -> None:
    package = importlib.import_module(name)
    assert package.__doc__ and package.__doc__.strip(), f"{name} has no docstring"
    public = _public(package)
    assert len(public) <= FACE_NAMES, f"{name} re-exports {sorted(public)}"
    assert public == set(getattr(package, "__all__", [])), f"{name} lists other names than it has"


@pytest.mark.parametrize("name", PACKAGES)
def test_importing_a_face_loads_no_other_module_of_the_app(name: str) -> None:
    code = f"import sys, {name}; print(sorted(m for m in sys.modules if m == 'app' or m.startswith('app.')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert eval(loaded) == ["app", name]  # noqa: S307 - our own subprocess's repr of a list of names


@pytest.mark.parametrize("name", LISTING)
def test_every_listed_name_exists_and_is_public(name: str) -> None:
    module = importlib.import_module(name)
    for member in _listed(module):
        assert not member.startswith("_"), f"{name}.__all__ lists the private {member}"
        assert hasattr(module, member), f"{name}.__all__ lists {member}, which it does not have"


@pytest.mark.parametrize("name", LISTING)
def test_the_list_is_sorted_and_has_no_repeats(name: str) -> None:
    listed = _listed(importlib.import_module(name))
    assert listed == sorted(set(listed), key=_isort_key)


def test_the_sort_is_isort_style() -> None:
    # The order ruff's RUF022 gives the same list.
    names = ["a10", "Started", "parse", "Rule", "StartResult", "MAX_A", "a2", "AllowList", "audit"]
    assert sorted(names, key=_isort_key) == [
        "MAX_A",
        "AllowList",
        "Rule",
        "StartResult",
        "Started",
        "a2",
        "a10",
        "audit",
        "parse",
    ]
