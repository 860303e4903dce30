"""The cookie-clearing header never depends on the clock, so equal failures are equal bytes."""

from __future__ import annotations

import time

from fastapi.responses import Response

from app.routes.responses import clear_cookie
from app.settings import Settings


def _cleared() -> str:
    response = Response()
    clear_cookie(response, Settings(_env_file=None), "__Host-bff")  # type: ignore[call-arg]
    return response.headers["set-cookie"]


def test_clearing_the_cookie_is_the_same_bytes_in_any_second() -> None:
    first = _cleared()
    time.sleep(1.0 - time.time() % 1.0 + 0.01)  # into the next second
    assert _cleared() == first
    assert "Max-Age=0" in first and "expires=Thu, 01 Jan 1970 00:00:00 GMT" in first


def test_every_error_answer_is_marked_no_store() -> None:
    from app.errors import NotAllowed, RateLimited
    from app.routes.responses import error_response

    for exc in (NotAllowed(), RateLimited(5)):
        response = error_response(exc)
        assert response.headers["cache-control"] == "no-store"
    assert error_response(RateLimited(5)).headers["retry-after"] == "5"
