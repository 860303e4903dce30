"""``GET /.well-known/jwks.json``: the public keys that verify the BFF's identity assertions (api.md §7).

Served only when an upstream receives assertions. No session, no CSRF header; cacheable, for a short while,
so that a key added for rotation reaches the upstreams' caches before it signs (README, "Rotating the
assertion keys").

Example::

    app.include_router(jwks_router(keys.jwks()))   # the key set is fixed for the process's life
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

#: Seconds an upstream may cache the key set (the spec allows up to 3600).
JWKS_MAX_AGE = 300


def jwks_router(document: dict[str, Any]) -> APIRouter:
    """A router serving ``document`` (an RFC 7517 JWK Set of public keys) at ``/.well-known/jwks.json``."""
    router = APIRouter(tags=["upstreams"])

    @router.get(
        "/.well-known/jwks.json",
        summary="The public keys of the identity assertions sent to upstreams (RFC 7517 JWK Set)",
    )
    async def jwks() -> JSONResponse:
        return JSONResponse(document, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})

    return router
