"""The browser client's view of the BFF, and the demo SPA's copy of the built client.

    .venv/bin/python scripts/gen_js_client.py openapi   # clients/js/openapi.json from the app
    .venv/bin/python scripts/gen_js_client.py vendor    # clients/js/dist/**.js -> web/vendor/...
    make js-types                                       # both, with openapi-typescript and the build between

The document comes from a development app with fixed settings (never the caller's environment or .env), so the
same sources always give the same file; tests/clients checks that the committed copy is what the app serves.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fastapi import FastAPI  # noqa: E402 - after the path set-up above

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

PACKAGE = ROOT / "clients" / "js"
DOCUMENT = PACKAGE / "openapi.json"
# `make run` serves web/ as it is, with no npm: the SPA imports the built package from this committed copy.
VENDOR = ROOT / "web" / "vendor" / "cyberark-bff-client"


# Both login modes on, so every route is in the document; fixed values, never the environment or .env.
SETTINGS: dict[str, Any] = {
    "_env_file": None,
    "bff_env": "development",
    "cyberark_tenant_url": "http://127.0.0.1:9",
    "bff_login_modes": "api,oauth",
    "bff_public_url": "http://127.0.0.1:8000",
    "bff_cookie_secure": False,
    "cyberark_oauth_app_id": "app",
    "cyberark_oauth_client_id": "client",
    "cyberark_oauth_client_secret": "secret",
    "bff_session_secrets": "openapi-" + "x" * 32,
}


def app() -> FastAPI:
    return create_app(Settings(**SETTINGS))


def document() -> dict[str, Any]:
    """The OpenAPI document the BFF serves at /openapi.json."""
    spec: dict[str, Any] = app().openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def built_files(dist: Path) -> dict[str, bytes]:
    """The JavaScript of a build, by path relative to its folder (the browser needs no declarations)."""
    return {str(p.relative_to(dist)): p.read_bytes() for p in sorted(dist.rglob("*.js"))}


def vendor() -> None:
    files = built_files(PACKAGE / "dist")
    if not files:
        sys.exit("clients/js/dist has no build: run `npm run build` there (or `make js`)")
    shutil.rmtree(VENDOR, ignore_errors=True)
    for name, data in files.items():
        target = VENDOR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    sys.stdout.write(f"copied {len(files)} files to {VENDOR.relative_to(ROOT)}\n")


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("what", choices=["openapi", "vendor"])
    if parser.parse_args().what == "openapi":
        DOCUMENT.write_text(render(document()))
        sys.stdout.write(f"wrote {DOCUMENT.relative_to(ROOT)}\n")
    else:
        vendor()


if __name__ == "__main__":
    main()
