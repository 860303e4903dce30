"""The OpenAPI document says what the BFF does, and the README says the same (openapi-spec-validator, the
README's tables); schemathesis checks the running server against it (test_openapi_fuzz.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from app.main import create_app
from app.routes.openapi import error_statuses
from app.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
UNSAFE = ("post", "put", "patch", "delete")


def document(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "bff_login_modes": "api,oauth",
        "bff_public_url": "https://bff.example.com",
        "cyberark_oauth_app_id": "app",
        "cyberark_oauth_client_id": "client",
        "cyberark_oauth_client_secret": "secret",
        # An upstream whose token an API login lacks: its operations name token_unavailable (api.md §7).
        "bff_upstreams": [
            {"name": "orders", "url": "https://orders.internal", "allow": "GET /o/*", "token": "access_token"}
        ],
        **overrides,
    }
    doc: dict[str, Any] = create_app(Settings(_env_file=None, **values)).openapi()  # type: ignore[call-arg]
    return doc


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]


def documented_errors(doc: dict[str, Any]) -> set[tuple[int, str]]:
    pairs = set()
    for _, _, op in operations(doc):
        for status, response in op["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            for code in schema.get("properties", {}).get("error", {}).get("enum", []):
                pairs.add((int(status), code))
    return pairs


def test_the_document_is_valid_openapi(doc: dict[str, Any]) -> None:
    validate(doc)


def test_every_call_that_changes_state_declares_x_csrf(doc: dict[str, Any]) -> None:
    csrf = {"$ref": "#/components/parameters/XCsrf"}
    assert doc["components"]["parameters"]["XCsrf"]["schema"] == {"type": "string", "enum": ["1"]}
    assert doc["components"]["parameters"]["XCsrf"]["required"] is True
    checked = 0
    for path, method, op in operations(doc):
        # An upstream's prefix (the fixture's /svc/orders) is guarded as /api is.
        if path.startswith(("/auth", "/api", "/svc/orders")) and method in UNSAFE:
            assert csrf in op.get("parameters", []), (method, path)
            assert (
                "csrf"
                in op["responses"]["403"]["content"]["application/json"]["schema"]["properties"]["error"][
                    "enum"
                ]
            )
            checked += 1
        else:
            assert csrf not in op.get("parameters", []), (method, path)
    assert checked >= 10


def test_the_session_cookie_is_the_security_scheme() -> None:
    secure = document()["components"]["securitySchemes"]["session"]
    plain = document(bff_cookie_secure=False)["components"]["securitySchemes"]["session"]
    assert (secure["type"], secure["in"], secure["name"]) == ("apiKey", "cookie", "__Host-bff")
    assert plain["name"] == "bff"
    doc = document()
    for path in ("/auth/session", "/auth/sessions", "/auth/sessions/{session_id}"):
        method = "delete" if "{" in path else "get"
        assert doc["paths"][path][method]["security"] == [{"session": []}], path
    assert doc["paths"]["/api/{path}"]["post"]["security"] == [{"session": []}]


def test_every_error_answer_names_its_codes_from_the_one_enum(doc: dict[str, Any]) -> None:
    statuses = error_statuses()
    assert doc["components"]["schemas"]["ErrorCode"]["enum"] == list(statuses)
    assert doc["components"]["schemas"]["ErrorBody"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorCode"
    }
    for path, method, op in operations(doc):
        assert "4XX" not in op["responses"] and "422" not in op["responses"], (method, path)
        for status, response in op["responses"].items():
            if int(status) < 400 or path == "/readyz":
                continue
            codes = response["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
            assert codes, (method, path, status)
            assert all(statuses[c] == int(status) for c in codes), (method, path, status, codes)
        if path.startswith(("/auth", "/api")):
            assert "headers_too_large" in str(op["responses"]["431"]), (method, path)


def test_the_oauth_navigations_are_redirects(doc: dict[str, Any]) -> None:
    for path in ("/auth/oauth/login", "/auth/oauth/callback"):
        answers = doc["paths"][path]["get"]["responses"]
        assert "Location" in answers["302"]["headers"], path
        assert not [s for s in answers if s.startswith("2")], path


def test_the_step_union_is_one_of_four_by_status(doc: dict[str, Any]) -> None:
    schema = doc["paths"]["/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "status"
    assert set(schema["discriminator"]["mapping"]) == {"challenge", "pending", "redirect", "authenticated"}


def test_the_readme_error_table_and_the_document_agree(doc: dict[str, Any]) -> None:
    readme = {(int(s), c) for s, c in re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", README, re.MULTILINE)}
    documented = documented_errors(doc)
    # Routing's 405 and a bug's 500 belong to no route; every other answer the README names is in the
    # document, and the document names none the README does not explain.
    assert readme - documented == {(405, "method_not_allowed"), (500, "internal_error")}
    assert documented <= readme, documented - readme


def test_the_readme_names_every_mechanism_field(doc: dict[str, Any]) -> None:
    step_table = README.split("| step | what the SPA does |", 1)[1].split("\n\n", 1)[0]
    for field in doc["components"]["schemas"]["MechanismView"]["properties"]:
        assert f"`{field}`" in step_table, field


def test_the_readme_names_every_route_of_the_document(doc: dict[str, Any]) -> None:
    for path, method, _ in operations(doc):
        if not path.startswith("/auth"):
            continue
        spelled = path.replace("{session_id}", "{id}")
        assert f"{method.upper()} {spelled}" in README, (method, path)
