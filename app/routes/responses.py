"""The one place an exception becomes an HTTP answer, and the session cookies' exact attributes."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response

from app.errors import BFFError, error_body
from app.settings import Settings


def error_response(exc: BFFError) -> JSONResponse:
    """The documented error JSON, status and headers for ``exc``."""
    return JSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers())


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    # HttpOnly keeps it from page scripts; SameSite=Strict keeps it off cross-site requests; no Domain, Path=/
    # (required by the __Host- prefix when Secure).
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=settings.bff_cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=settings.bff_cookie_secure, httponly=True, samesite="strict"
    )
