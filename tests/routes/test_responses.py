"""Every error answer is marked no-store (the cookies' exact bytes: tests/security/test_cookies.py)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import pytest

from app.errors import BFFError, NotAllowed, RateLimited, StoreUnavailable, send_error
from app.routes.responses import error_response


def test_every_error_answer_is_marked_no_store() -> None:
    for exc in (NotAllowed(), RateLimited(5)):
        response = error_response(exc)
        assert response.headers["cache-control"] == "no-store"
    assert error_response(RateLimited(5)).headers["retry-after"] == "5"


@pytest.mark.parametrize("exc", [NotAllowed(), RateLimited(5), StoreUnavailable(), BFFError()])
async def test_both_entry_points_send_one_rendering_of_an_error(exc: BFFError) -> None:
    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await send_error(send, exc)
    response = error_response(exc)
    assert (response.status_code, response.raw_headers, response.body) == (
        sent[0]["status"],
        sent[0]["headers"],
        sent[1]["body"],
    )
