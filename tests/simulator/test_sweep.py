"""Long runs (benchmarks) do not keep expired logins and tokens forever."""

from __future__ import annotations

from simulator.app import create_app
from simulator.flow import Caller, start
from simulator.state import SWEEP_EVERY


def test_expired_logins_and_tokens_are_swept() -> None:
    state = create_app(login_lifetime=10, token_lifetime=10).state.sim
    caller = Caller("127.0.0.1:1", secure=False)
    first = start(state, {"User": "alice@example.com"}, caller).body["Result"]["SessionId"]
    with state.lock:
        duration, once = state.issue_tokens(state.user("alice@example.com"))
        state.clock_offset += 11
    for _ in range(SWEEP_EVERY):
        start(state, {"User": "alice@example.com"}, caller)
    assert first not in state.logins
    assert len(state.logins) >= SWEEP_EVERY - 2  # the live ones stay
    assert duration.value not in state.tokens and once.value not in state.tokens
