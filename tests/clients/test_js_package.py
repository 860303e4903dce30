"""clients/js stays true to the BFF and to itself: its OpenAPI copy is what the app serves, its generated
types are what openapi-typescript makes of that copy, and web/'s committed build is what its sources build to.

Each drift has one fix: ``make js-types`` (then commit what changed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from tests.support.asgi_server import ServerThread

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import gen_js_client  # noqa: E402 - the script is the one way the committed files are made

PACKAGE = gen_js_client.PACKAGE
BIN = PACKAGE / "node_modules" / ".bin"
FIX = "run `make js-types` and commit what changed"


def _tool(name: str) -> Path:
    tool = BIN / name
    if not tool.exists():
        pytest.fail(f"{tool} is missing: `make js` installs the package's tools (npm ci)")
    return tool


def test_the_committed_openapi_document_is_what_the_app_serves() -> None:
    # Over HTTP, as a generator would fetch it.
    with ServerThread(gen_js_client.app()) as server:
        served = httpx.get(server.url + "/openapi.json", timeout=10).json()
    committed = json.loads(gen_js_client.DOCUMENT.read_text())
    assert committed == served, f"clients/js/openapi.json differs from the app's /openapi.json: {FIX}"


def test_the_generated_types_are_what_openapi_typescript_makes_of_the_document(tmp_path: Path) -> None:
    out = tmp_path / "openapi.ts"
    subprocess.run(
        [str(_tool("openapi-typescript")), "openapi.json", "--output", str(out)],
        cwd=PACKAGE,
        check=True,
        capture_output=True,
        timeout=120,
    )
    committed = (PACKAGE / "src" / "generated" / "openapi.ts").read_text()
    assert out.read_text() == committed, f"clients/js/src/generated/openapi.ts is stale: {FIX}"


def test_web_serves_a_fresh_build_of_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [str(_tool("tsc")), "-p", "tsconfig.build.json", "--outDir", str(tmp_path)],
        cwd=PACKAGE,
        check=True,
        capture_output=True,
        timeout=180,
    )
    fresh = gen_js_client.built_files(tmp_path)
    assert "index.js" in fresh
    committed = gen_js_client.built_files(gen_js_client.VENDOR)
    assert committed == fresh, f"web/vendor is not the sources' build: {FIX}"


@pytest.mark.timeout(300)  # npm pack builds the package first
def test_npm_pack_yields_a_publishable_tarball_that_node_imports(tmp_path: Path) -> None:
    _tool("tsc")  # npm pack builds first (prepack)
    packed = subprocess.run(
        ["npm", "pack", "--json", "--pack-destination", str(tmp_path)],
        cwd=PACKAGE,
        check=True,
        capture_output=True,
        text=True,
        timeout=180,
    )
    # prepack's own output comes first on stdout; the JSON report is the last thing npm writes.
    report = json.loads(packed.stdout[packed.stdout.index("[\n") :])[0]
    files = {f["path"] for f in report["files"]}
    assert {"package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts"} <= files
    assert not any(p.startswith(("src/", "test/", "node_modules/")) for p in files)
    with tarfile.open(tmp_path / report["filename"]) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    root = tmp_path / "unpacked" / "package"
    manifest = json.loads((root / "package.json").read_text())
    assert manifest["name"] == "cyberark-bff-client"
    assert manifest["license"] == "Apache-2.0"
    assert manifest["type"] == "module"
    assert "dependencies" not in manifest
    entry = manifest["exports"]["."]
    assert (root / entry["import"]).is_file() and (root / entry["types"]).is_file()
    readme = (root / "README.md").read_text()
    assert "## Quick start: the SPA and the BFF on one origin" in readme
    assert "## Quick start: the SPA on another origin of the same site" in readme
    # What an SPA imports, from the tarball as a consumer gets it (Node: no browser needed for the names).
    names = subprocess.run(
        ["node", "--input-type=module", "-e", f"import * as m from {json.dumps(str(root / entry['import']))};"
         "console.log(Object.keys(m).sort().join(','))"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert {"BffError", "createBffClient"} <= set(names.stdout.strip().split(","))
