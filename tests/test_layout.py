"""The import rules of the layout (docs in README's "How it works" tree), checked on every module's AST.

Each room of ``app`` (a package, or a module at the top) stands on a floor; a module imports only rooms on
lower floors, or its own. Rooms on one floor are siblings and never import each other (``routes`` and
``proxy``, ``store`` and ``identity``, ``login`` and ``security``). ``errors`` imports nothing of the app;
``settings`` at most the allow-list's pure parser and the ``NAME_FILE`` source; ``observe`` (a ground floor),
``store`` and ``origin`` (the HTTP/1.1 client, on ``errors`` alone) nothing of the domain. Imports under
``TYPE_CHECKING`` count too: they are arrows a reader follows all the same.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import app

ROOT = Path(app.__file__).parent

#: The rooms from the ground up; a room imports only those on lower floors (and itself).
FLOORS: dict[str, int] = {
    "errors": 0,
    "secret_files": 0,
    "settings": 1,
    "origin": 1,
    "observe": 2,
    "variable_names": 2,
    "store": 3,
    "identity": 3,
    "configuration": 3,
    "sessions": 4,
    "login": 5,
    "security": 5,
    "services": 6,
    "upstreams": 6,
    "routes": 7,
    "proxy": 7,
    "admin": 7,
    "main": 8,
}
#: The arrows that run up, by design: settings parses BFF_PROXY_ALLOW with the allow-list's parser, and
#: BFF_UPSTREAMS and BFF_ASSERTION_KEYS with theirs (pure parsers; the keys' only when the keys are set).
EXCEPTIONS = {
    ("app.settings", "app.security.allowlist"),
    ("app.settings", "app.upstreams.config"),
    ("app.settings", "app.upstreams.keys"),
}
#: What the store and observe may stand on: nothing of the domain.
GROUND = {"observe": {"settings"}, "store": {"errors", "settings", "observe"}, "origin": {"errors"}}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # ``from app.routes import login`` imports the module app.routes.login.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("app.") and _is_module(name)}


def _is_module(name: str) -> bool:
    path = ROOT.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


MODULES = sorted((_module(path), path) for path in ROOT.rglob("*.py"))
ARROWS = sorted(
    (module, target)
    for module, path in MODULES
    for target in _imports(path)
    if _room(target) != _room(module)
)


def test_every_room_has_a_floor() -> None:
    rooms = {_room(module) for module, _ in MODULES} - {""}
    assert rooms == set(FLOORS), "a new room needs a floor here (and a line in README's tree)"


def test_the_rules_see_the_arrows() -> None:
    # Guards the reader above: known arrows of each kind are found.
    assert ("app.main", "app.routes.login") in ARROWS  # from app.routes import login
    assert ("app.routes.deps", "app.services") in ARROWS
    assert ("app.settings", "app.security.allowlist") in ARROWS


@pytest.mark.parametrize(("module", "target"), ARROWS, ids=[f"{m}->{t}" for m, t in ARROWS])
def test_no_module_imports_one_above_it_or_beside_it(module: str, target: str) -> None:
    if (module, target) in EXCEPTIONS:
        return
    assert FLOORS[_room(target)] < FLOORS[_room(module)], f"{module} imports {target}, not below it"


def test_errors_imports_nothing_of_the_app() -> None:
    assert _imports(ROOT / "errors.py") == set()


@pytest.mark.parametrize("room", sorted(GROUND))
def test_the_ground_floors_import_nothing_of_the_domain(room: str) -> None:
    reached = {_room(target) for module, target in ARROWS if _room(module) == room}
    assert reached <= GROUND[room], f"app.{room} imports {sorted(reached - GROUND[room])}"


def _loaded(statement: str) -> list[str]:
    code = f"import sys; {statement}; print(sorted(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return eval(out)  # type: ignore[no-any-return]  # noqa: S307 - our own subprocess's list of names


def _app_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name == "app" or name.startswith("app.")]


def test_importing_the_settings_loads_only_the_settings_and_their_parsers() -> None:
    loaded = _app_modules(_loaded("import app.settings"))
    assert loaded == [
        "app",
        "app.secret_files",
        "app.security",
        "app.security.allowlist",
        "app.settings",
        "app.upstreams",
        "app.upstreams.config",
    ]


def test_importing_the_tenant_client_loads_identity_and_what_is_below_it() -> None:
    loaded = _loaded("import app.identity.client")
    rooms = {_room(name) for name in _app_modules(loaded)} - {""}
    # security and upstreams only for the settings' parsers (EXCEPTIONS).
    assert rooms == {"errors", "secret_files", "settings", "observe", "identity", "security", "upstreams"}
    assert [name for name in _app_modules(loaded) if _room(name) == "observe"] == [
        "app.observe",
        "app.observe.request_context",
    ]
    assert "prometheus_client" not in loaded
