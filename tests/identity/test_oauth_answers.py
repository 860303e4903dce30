"""The token endpoint's answer as the OAuth client reads it: a malformed ``expires_in`` is refused."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import TenantProtocolError
from app.identity.oauth import _token_set


@pytest.mark.parametrize(
    "value", ["\u00b2", "1" * 400, 10**400, float("nan"), float("inf"), -5, "-5", "abc", "", True, [], {}]
)
def test_a_malformed_expires_in_is_a_protocol_error_not_a_crash(value: Any) -> None:
    with pytest.raises(TenantProtocolError):
        _token_set({"access_token": "at", "token_type": "Bearer", "expires_in": value})


@pytest.mark.parametrize(
    ("value", "seconds"), [(3600, 3600.0), ("3600", 3600.0), (0.5, 0.5), (0, 0.0), (None, None)]
)
def test_expires_in_as_a_number_or_a_string_of_digits(value: Any, seconds: float | None) -> None:
    tokens = _token_set({"access_token": "at", "token_type": "Bearer", "expires_in": value})
    assert tokens.expires_in == seconds
