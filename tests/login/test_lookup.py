"""The login's mechanism lookup answers any id the browser sends with a clean 400, never a crash."""

from __future__ import annotations

import pytest

from app.errors import InvalidRequest
from app.identity.models import Challenge, LoginContext, Mechanism, Package
from app.login.flow import LoginState, _mechanism, _present


def _state() -> LoginState:
    password = Mechanism(id="tenant-mech-1", name="UP", kind="text", label="Password")
    package = Package(challenges=(Challenge(mechanisms=(password,)),))
    context = LoginContext(base_url="https://tenant.example", session_id="tenant-session")
    state = LoginState(username="jane@example.com", context=context, package=package)
    _present(state)
    return state


@pytest.mark.parametrize("sent", ["é", "\x80", "m0", "", "ü" * 64])
def test_an_unknown_id_in_any_alphabet_is_invalid_request(sent: str) -> None:
    with pytest.raises(InvalidRequest):
        _mechanism(_state(), sent)


def test_the_issued_id_finds_its_mechanism() -> None:
    state = _state()
    assert _mechanism(state, state.ids[0]).id == "tenant-mech-1"
