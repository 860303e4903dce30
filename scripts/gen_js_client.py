"""The browser client's view of the BFF: clients/js/openapi.json from the app, then the package's generated types.

    .venv/bin/python scripts/gen_js_client.py           # openapi.json only
    make js-types                                       # this, then openapi-typescript, the build, web/vendor

The document comes from a development app with fixed settings (never the caller's environment or .env), so the
same sources always give the same file; tests/clients checks that the committed copy is what the app serves.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.main import create_app  # noqa: E402 - after the path set-up above
from app.settings import Settings  # noqa: E402

DOCUMENT = ROOT / "clients" / "js" / "openapi.json"


def document() -> dict[str, Any]:
    """The OpenAPI document the BFF serves at /openapi.json, with both login modes on."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bff_env="development",
        cyberark_tenant_url="http://127.0.0.1:9",
        bff_login_modes="api,oauth",
        bff_public_url="http://127.0.0.1:8000",
        bff_cookie_secure=False,
        cyberark_oauth_app_id="app",
        cyberark_oauth_client_id="client",
        cyberark_oauth_client_secret="secret",
        bff_session_secrets="openapi-" + "x" * 32,
    )
    spec: dict[str, Any] = create_app(settings).openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"


def main() -> None:
    DOCUMENT.write_text(render(document()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
