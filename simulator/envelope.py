"""The tenant's JSON envelope: HTTP 200 for logins that fail, one generic message, HTML for unknown paths."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi.responses import HTMLResponse, JSONResponse

#: The one message a real tenant gives for every login failure (wrong answer, unknown user, lockout...).
GENERIC_FAILURE = (
    "Authentication (login or challenge) has failed. Please try again or contact your system administrator."
)
NOT_AUTHENTICATED = "Not authenticated"

_NOT_FOUND_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>404 - File or directory not found.</title></head>"
    "<body><h1>Server Error</h1><h2>404 - File or directory not found.</h2>"
    "<p>The resource you are looking for might have been removed, had its name changed, "
    "or is temporarily unavailable.</p></body></html>\n"
)


def error_id() -> str:
    """An ``ErrorID`` shaped like a real tenant's: ``<uuid>:<32 hex>``."""
    return f"{uuid.uuid4()}:{secrets.token_hex(16)}"


def envelope(
    result: Any, *, success: bool = True, message: str | None = None, err_id: str | None = None
) -> dict[str, Any]:
    """The full envelope around ``result``, keys in the order real tenants send them."""
    return {
        "success": success,
        "Result": result,
        "Message": message,
        "MessageID": None,
        "Exception": None,
        "ErrorID": err_id,
        "ErrorCode": None,
        "IsSoftError": False,
        "InnerExceptions": None,
    }


def ok(result: Any) -> dict[str, Any]:
    """A successful envelope."""
    return envelope(result)


def failure(summary: str = "Failure") -> dict[str, Any]:
    """A failed login step: ``success: false``, the generic message, a fresh ``ErrorID``."""
    return envelope({"Summary": summary}, success=False, message=GENERIC_FAILURE, err_id=error_id())


def not_authenticated() -> JSONResponse:
    """The 401 for an unknown, expired, logged-out or spent bearer token."""
    return JSONResponse(envelope(None, success=False, message=NOT_AUTHENTICATED), status_code=401)


def html_not_found() -> HTMLResponse:
    """The IIS-style HTML page a tenant serves for paths it does not know."""
    return HTMLResponse(_NOT_FOUND_PAGE, status_code=404)
