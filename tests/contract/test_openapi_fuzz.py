"""schemathesis (pinned 4.32.5) against the BFF's OpenAPI over real HTTP: no 5xx, answers match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis

from app.main import create_app
from tests.faults.conftest import ALICE, ALICE_PASSWORD, bff_settings
from tests.support.asgi_server import ServerThread
from tests.support.redis_server import RedisServer

assert schemathesis.__version__ == "4.32.5", "the fuzzer is pinned; a new version is a deliberate change"

CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": False},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "generation": {"max-examples": 40, "mode": "all", "database": "none"},
        "checks": {
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            # Schema-valid bodies are accepted: the username rule is a pattern and advance has two shapes.
            "positive_data_acceptance": {"enabled": True},
        },
    }
)


@pytest.fixture(scope="module")
def contract_bff(redis_server: RedisServer) -> Iterator[ServerThread]:
    from simulator.app import create_app as create_simulator

    with ServerThread(create_simulator()) as sim:
        settings = bff_settings(sim.url, bff_redis_url=redis_server.url)
        with ServerThread(create_app(settings)) as bff:
            yield bff


@pytest.fixture(scope="module")
def session_cookie(contract_bff: ServerThread) -> str:
    with httpx.Client(base_url=contract_bff.url, headers={"X-CSRF": "1"}, timeout=10) as client:
        started = client.post("/auth/login", json={"username": ALICE}).json()
        mechanism = started["challenge"]["mechanisms"][0]["id"]
        client.post(
            "/auth/advance", json={"mechanism": mechanism, "answer": ALICE_PASSWORD}
        ).raise_for_status()
        return str(client.cookies["bff"])


def openapi_document() -> dict[str, Any]:
    """The BFF's OpenAPI document, built without serving (the app is built, its lifespan never runs)."""
    return create_app(bff_settings("http://127.0.0.1:9")).openapi()


# Loaded at import: schemathesis's lazy from_fixture() does not run on pytest 9 (it sets Function._nodeid).
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


def test_the_served_document_is_the_fuzzed_one(contract_bff: ServerThread) -> None:
    assert httpx.get(contract_bff.url + "/openapi.json", timeout=5).json() == openapi_document()


@schema.parametrize()
def test_anonymous_browser(case: schemathesis.Case, contract_bff: ServerThread) -> None:
    # X-CSRF is a declared parameter: the fuzzer sends "1", and other values in its negative cases (403 csrf).
    case.call_and_validate(base_url=contract_bff.url)


@schema.exclude(path="/auth/logout").parametrize()
def test_signed_in_browser(case: schemathesis.Case, contract_bff: ServerThread, session_cookie: str) -> None:
    # Logout is left out so that one session serves every case; it is fuzzed anonymously above.
    # The cookie is the document's `session` security scheme; a negative case that drops it would be
    # answered with it all the same here, so negative data is judged by the anonymous test above.
    case.call_and_validate(
        base_url=contract_bff.url,
        cookies={"bff": session_cookie},
        excluded_checks=[schemathesis.checks.negative_data_rejection],
    )
