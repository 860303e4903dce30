"""Error answers and documented errors for FastAPI's routes (the rendering: ``app.errors.render_error``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.errors import BFFError, render_error


class ErrorBody(BaseModel):
    """Every error answer's JSON, e.g. ``{"error": "rate_limited", "message": "...", "retry_after": 30}``."""

    error: str
    message: str
    #: Seconds to wait; only on ``rate_limited`` (the ``Retry-After`` header says the same).
    retry_after: int | None = None


#: How the /auth routes document the failures of what they depend on.
UPSTREAM_ERRORS = {
    502: "upstream_unavailable or upstream_protocol_error",
    503: "store_unavailable, with Retry-After",
    504: "upstream_timeout",
}


def documented_errors(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for a route's errors, e.g. ``documented_errors({401: "login_failed"})``.

    ``4XX`` stands for the refusals any route may give (csrf, origin, body_too_large, ...); it also keeps
    FastAPI from documenting a 422 the BFF never sends (validation failures answer 400 invalid_request).
    """
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": text} for status, text in codes.items()
    }
    responses["4XX"] = {
        "model": ErrorBody,
        "description": "csrf, origin, body_too_large, invalid_request, ...",
    }
    return responses


class NoStoreRoute(APIRoute):
    """A route whose every answer carries ``Cache-Control: no-store`` (``APIRouter(route_class=...)``).

    What /auth answers (a user object, a push number, a session listing) is about one signed-in browser:
    no cache, shared or private, may keep it. Errors already say so (:func:`error_response`).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def no_store(request: Request) -> Response:
            response = await handler(request)
            response.headers["Cache-Control"] = "no-store"
            return response

        return no_store


def error_response(exc: BFFError) -> Response:
    """``exc``'s answer for FastAPI: :func:`app.errors.render_error`'s, as the proxy sends it."""
    headers, body = render_error(exc)
    response = Response(body, status_code=exc.status)
    response.raw_headers = headers
    return response
