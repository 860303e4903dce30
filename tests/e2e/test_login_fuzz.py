"""Hypothesis: any JSON body on any /auth POST route gets a documented answer, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory

ROUTES = ["/auth/login", "/auth/advance", "/auth/poll", "/auth/cancel", "/auth/logout"]
# Scalars the routes care about, among arbitrary ones: real field names and plausible values.
_keys = st.sampled_from(["username", "mechanism", "answer", "action", "start_oob", "x"]) | st.text(max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["alice@example.com", "start_oob", "alice-pass-1", ""])
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
# Bodies shaped like the request models with arbitrary values, so fuzzing gets past validation into the flow.
#: Replaced, in a body, by the id of the login's real password mechanism.
REAL = "$real-mechanism"
_mechanisms = st.sampled_from([REAL, REAL, "m0"]) | _scalars
# Bodies shaped like the request models with arbitrary values, so fuzzing gets past validation into the flow.
_shaped = (
    st.fixed_dictionaries({"username": _scalars})
    | st.fixed_dictionaries({"mechanism": _mechanisms, "answer": _json})
    | st.fixed_dictionaries(
        {"mechanism": _mechanisms, "answer": st.dictionaries(st.text(max_size=8), _scalars)}
    )
    | st.fixed_dictionaries({"mechanism": _mechanisms, "action": _scalars})
)
_bodies = st.one_of(_shaped, _shaped, _json)


def _substitute(body: Any, real: str) -> Any:
    if isinstance(body, dict):
        return {k: _substitute(v, real) for k, v in body.items()}
    if isinstance(body, list):
        return [_substitute(v, real) for v in body]
    return real if body == REAL else body


@pytest.fixture(scope="module")
def fuzz_bff(sim_server: ServerThread, redis_server: Any) -> Iterator[ServerThread]:
    from app.main import create_app
    from app.settings import Settings
    from tests.support.bff_fixtures import SECRET

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        cyberark_tenant_url=sim_server.url,
        bff_redis_url=redis_server.url,
        bff_session_secrets=SECRET,
        bff_cookie_secure=False,
        bff_login_rate_limit="100000/60,100000/60",
    )
    with ServerThread(create_app(settings)) as server:
        yield server


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_bodies)
# Found by this test: a non-ASCII id reached compare_digest on str (TypeError, a 500).
@example(body={"mechanism": "\x80", "action": "start_oob"})
@example(body={"mechanism": "é", "answer": "x"})
def test_any_json_body_gets_a_documented_answer(fuzz_bff: ServerThread, route: str, body: Any) -> None:
    with httpx.Client(base_url=fuzz_bff.url, headers={"X-CSRF": "1"}, timeout=10) as browser:
        # A login in progress, so advance and poll reach the flow rather than stopping at 409.
        step = browser.post("/auth/login", json={"username": "alice@example.com"}).json()
        body = _substitute(body, step["challenge"]["mechanisms"][0]["id"])
        response = browser.post(route, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code < 500, (route, body, response.text)
    if response.status_code >= 400:
        error = response.json()
        assert set(error) <= {"error", "message", "retry_after"} and error["error"] and error["message"]
    assert "Traceback" not in response.text


def test_the_fuzzer_reaches_the_flow(make_bff: BffFactory) -> None:
    # Guard against a fuzzer that only ever sees 400s: a well-formed answer through the same path succeeds.
    bff = make_bff()
    with httpx.Client(base_url=bff.url, headers={"X-CSRF": "1"}, timeout=10) as browser:
        step = browser.post("/auth/login", json={"username": "alice@example.com"}).json()
        mech = step["challenge"]["mechanisms"][0]["id"]
        done = browser.post(
            "/auth/advance",
            content=json.dumps({"mechanism": mech, "answer": "alice-pass-1"}),
            headers={"Content-Type": "application/json"},
        )
    assert done.json()["status"] == "authenticated"
