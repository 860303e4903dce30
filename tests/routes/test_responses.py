"""Every error answer is marked no-store (the cookies' exact bytes: tests/sessions/test_cookies.py)."""

from __future__ import annotations


def test_every_error_answer_is_marked_no_store() -> None:
    from app.errors import NotAllowed, RateLimited
    from app.routes.responses import error_response

    for exc in (NotAllowed(), RateLimited(5)):
        response = error_response(exc)
        assert response.headers["cache-control"] == "no-store"
    assert error_response(RateLimited(5)).headers["retry-after"] == "5"
