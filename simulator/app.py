"""The simulator's ASGI app factory.

Example::

    app = create_app([{"username": "a@example.com", "password": "pw", "challenges": [["UP"]]}])
    app.state.sim.config.pod_chain = ["127.0.0.1:9002"]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from simulator import bearer, controls, federation, protocol
from simulator.envelope import html_not_found
from simulator.middleware import CallLogAndFaults
from simulator.oauth import authorize as oauth_authorize
from simulator.oauth import controls as oauth_controls
from simulator.oauth import token as oauth_token
from simulator.oauth.apps import load_oauth_apps
from simulator.oauth.state import OAuthState
from simulator.state import SimConfig, SimState
from simulator.users import load_users


def create_app(
    users: list[dict[str, Any]] | str | Path | None = None,
    *,
    token_lifetime: int = 43200,
    lockout_threshold: int = 5,
    lockout_seconds: int = 60,
    pod_chain: list[str] | None = None,
    tenant_id: str = "ABC1234",
    login_lifetime: int = 600,
    oauth_apps: list[dict[str, Any]] | None = None,
) -> FastAPI:
    """A simulated tenant loaded with ``users`` (dicts, a JSON file, or None for users.example.json).

    ``oauth_apps``: OAuth2 Client apps (the users file's schema); None takes the users file's ``oauth_apps``.
    """
    config = SimConfig(
        token_lifetime=token_lifetime,
        lockout_threshold=lockout_threshold,
        lockout_seconds=lockout_seconds,
        pod_chain=list(pod_chain or []),
        tenant_id=tenant_id,
        login_lifetime=login_lifetime,
    )
    state = SimState(load_users(users), config)
    oauth = OAuthState(state, load_oauth_apps(oauth_apps, users))
    state.reset_hooks.append(oauth.reset)
    app = FastAPI(
        title="CyberArk Identity tenant simulator",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.sim = state
    app.state.oauth = oauth
    app.include_router(protocol.router)
    app.include_router(bearer.router)
    app.include_router(controls.router)
    app.include_router(oauth_authorize.router)
    app.include_router(oauth_token.router)
    app.include_router(oauth_controls.router)
    app.include_router(federation.router)
    app.add_middleware(CallLogAndFaults, state=state)

    async def not_found(request: Request, exc: Exception) -> Response:
        # A tenant answers unknown paths, and known paths with the wrong method, with an HTML 404.
        return html_not_found()

    app.add_exception_handler(StarletteHTTPException, not_found)
    app.add_exception_handler(RequestValidationError, not_found)
    return app
