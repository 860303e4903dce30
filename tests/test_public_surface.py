"""Each package of ``app`` has one public surface, its ``__init__``'s ``__all__``, and it stays honest.

As httpx keeps its own (tests/test_exported_members.py there): every name listed exists and is public,
every public name the ``__init__`` defines or imports is listed, and the list is sorted (isort-style, as
ruff's RUF022 sorts: CONSTANTS, then Classes, then functions and modules).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType

import pytest

import app

PACKAGES = sorted(info.name for info in pkgutil.iter_modules(app.__path__, "app.") if info.ispkg)


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


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_name_exists_and_is_public(name: str) -> None:
    package = importlib.import_module(name)
    for member in _listed(package):
        assert not member.startswith("_"), f"{name}.__all__ lists the private {member}"
        assert hasattr(package, member), f"{name}.__all__ lists {member}, which it does not have"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_listed(name: str) -> None:
    package = importlib.import_module(name)
    public = set()
    for member, value in vars(package).items():
        if member.startswith("_") or member == "annotations":
            continue
        # A submodule becomes an attribute of its package when anything imports it; that is not a re-export.
        if (
            isinstance(value, ModuleType)
            and value.__name__ == f"{name}.{member}"
            and member not in _listed(package)
        ):
            continue
        public.add(member)
    assert public == set(_listed(package))


@pytest.mark.parametrize("name", PACKAGES)
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
