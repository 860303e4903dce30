"""HTTP odds and ends shared by the OAuth endpoints: form bodies, redirects, OAuth errors, the issuer."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import Request

from simulator.oauth.apps import OAuthApp
from simulator.oauth.state import OAuthState

#: The tenant's browser session (SSO) cookie; Path /OAuth2/ so it never rides along to a BFF on the same host.
SSO_COOKIE = "SimOAuthSSO"
#: RFC 7636: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~] (an S256 challenge is always 43).
PKCE_VALUE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_of(request: Request) -> OAuthState:
    oauth: OAuthState = request.app.state.oauth
    return oauth


def parse_form(body: bytes) -> dict[str, list[str]] | None:
    """An ``application/x-www-form-urlencoded`` body (every value of every name), or None when unreadable."""
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return None


def single(form: dict[str, list[str]], name: str) -> str | None:
    """The one value of ``name``; None when absent, empty or repeated (RFC 6749: never more than once)."""
    values = form.get(name, [])
    return values[0] if len(values) == 1 and values[0] else None


def repeated(form: dict[str, list[str]]) -> bool:
    return any(len(v) > 1 for v in form.values())


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """``uri`` with ``params`` (None values left out) appended to whatever query it already has."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query and extra else parts.query or extra
    return urlunsplit(parts._replace(query=query))


def redirect(uri: str, **params: str | None) -> RedirectResponse:
    return RedirectResponse(with_query(uri, params), status_code=302, headers={"Cache-Control": "no-store"})


def oauth_error(
    status: int, error: str, description: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An RFC 6749 §5.2 error: ``{"error", "error_description"?}``, never cached."""
    body: dict[str, Any] = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **(headers or {})})


def tenant_url(request: Request) -> str:
    """The tenant's base URL as the client addressed it (scheme and Host header)."""
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def issuer_of(app: OAuthApp, request: Request) -> str:
    """``{tenant}/{app}/``, unless the app's configuration names its issuer."""
    return app.issuer or f"{tenant_url(request)}/{app.app_id}/"
