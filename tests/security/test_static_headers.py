"""The SPA's files come with the headers a <meta> CSP cannot give: no framing, no sniffing, no referrer."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.main import create_app
from app.settings import Settings
from tests.support.asgi_server import ServerThread

WEB = Path(__file__).resolve().parents[2] / "web"


def test_the_spa_cannot_be_framed_or_sniffed() -> None:
    settings = Settings(_env_file=None, bff_cookie_secure=False, bff_static_dir=WEB)  # type: ignore[call-arg]
    with ServerThread(create_app(settings)) as bff:
        for path in ("/", "/app.js"):
            response = httpx.get(bff.url + path)
            assert response.status_code == 200, path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "no-referrer"
        # The API answers are the routes' own, untouched by the static layer.
        assert "x-frame-options" not in httpx.get(bff.url + "/healthz").headers
