"""What the browser may send to /auth: CSRF and Origin rules, bad input (never a 500), the OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.bff_login import answer, login_password, mechanism, ok, start, start_oob

ALLOWED = "https://app.example.com"


def _tenant_calls(sim: Sim) -> list[str]:
    return [c["path"] for c in sim.calls() if not c["path"].startswith("/_sim")]


def _error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["error"] == code and isinstance(body["message"], str)
    assert set(body) == {"error", "message"}
    return body


# CSRF and Origin ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/login", {"username": "alice@example.com"}),
        ("/auth/advance", {"mechanism": "m", "answer": "x"}),
        ("/auth/poll", {}),
        ("/auth/cancel", {}),
        ("/auth/logout", None),
    ],
)
async def test_post_without_the_csrf_header_is_403(bff: ServerThread, sim: Sim, path: str, body: Any) -> None:
    async with httpx.AsyncClient(base_url=bff.url) as client:
        _error(await client.post(path, json=body), 403, "csrf")
        _error(await client.post(path, json=body, headers={"X-CSRF": "0"}), 403, "csrf")
    assert _tenant_calls(sim) == []


async def test_delete_of_a_session_needs_the_csrf_header(bff: ServerThread, sim: Sim) -> None:
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}) as browser:
        await login_password(browser, "alice@example.com")
        [mine] = (await browser.get("/auth/sessions")).json()
        del browser.headers["X-CSRF"]
        _error(await browser.delete(f"/auth/sessions/{mine['id']}"), 403, "csrf")
        assert (await browser.get("/auth/session")).status_code == 200  # GET needs no header


async def test_foreign_origin_is_403_and_allowed_origins_pass(make_bff: BffFactory, sim: Sim) -> None:
    bff = make_bff(bff_allowed_origins=ALLOWED)
    async with httpx.AsyncClient(base_url=bff.url, headers={"X-CSRF": "1"}) as client:
        for origin in ("https://evil.example", "null", "http://127.0.0.1:1", "https://app.example.com.evil"):
            refused = await client.post(
                "/auth/login", json={"username": "alice@example.com"}, headers={"Origin": origin}
            )
            _error(refused, 403, "origin")
        assert _tenant_calls(sim) == []
        for origin in (ALLOWED, bff.url):
            passed = await client.post(
                "/auth/login", json={"username": "alice@example.com"}, headers={"Origin": origin}
            )
            assert ok(passed)["status"] == "challenge"


# Bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"not json",
        b"[]",
        b'"alice"',
        b"null",
        b"",
        b'{"username": 42}',
        b'{"username": ["alice@example.com"]}',
        b'{"username": null}',
        b'{"username": ""}',
        b'{"username": "   "}',
        b'{"username": "alice\\u0000@example.com"}',
        b'{"username": "alice@example.com", "admin": true}',
        b'{"user": "alice@example.com"}',
        b'{"username": "' + b"a" * 10_000 + b'"}',
        b'\xff\xfe{"username": "a"}',
    ],
)
async def test_bad_login_bodies_are_400(bff: ServerThread, sim: Sim, content: bytes) -> None:
    async with httpx.AsyncClient(
        base_url=bff.url, headers={"X-CSRF": "1", "Content-Type": "application/json"}
    ) as c:
        _error(await c.post("/auth/login", content=content), 400, "invalid_request")
    assert _tenant_calls(sim) == []


@pytest.mark.parametrize("size", [100_000, 3_000_000])
async def test_a_very_large_body_is_refused_not_a_crash(bff: ServerThread, sim: Sim, size: int) -> None:
    big = b'{"username": "' + b"a" * size + b'"}'
    async with httpx.AsyncClient(
        base_url=bff.url, headers={"X-CSRF": "1", "Content-Type": "application/json"}
    ) as c:
        response = await c.post("/auth/login", content=big)
        # The limit is the request-limits middleware's (413); a 400 would be a refusal as good.
        assert response.status_code in (400, 413)
        assert response.json()["error"] in ("invalid_request", "body_too_large")
        assert (
            ok(await c.post("/auth/login", json={"username": "alice@example.com"}))["status"] == "challenge"
        )
    assert _tenant_calls(sim) == ["/Security/StartAuthentication"]


@pytest.mark.parametrize(
    "body",
    [
        {"mechanism": 7, "answer": "x"},
        {"mechanism": "MECH", "answer": 7},
        {"mechanism": "MECH", "answer": ["x"]},
        {"mechanism": "MECH", "answer": {"q": {"nested": "x"}}},
        {"mechanism": "MECH", "answer": {}},
        {"mechanism": "MECH", "answer": {str(i): "x" for i in range(17)}},
        {"mechanism": "MECH", "answer": "x" * 5000},
        {"mechanism": "MECH"},
        {"mechanism": "MECH", "answer": "x", "action": "start_oob"},
        {"mechanism": "MECH", "action": "approve"},
        {"mechanism": "MECH", "answer": "x", "extra": 1},
        {"mechanism": "M" * 1000, "answer": "x"},
        {"answer": "x"},
        {"mechanism": "unknown-id", "answer": "alice-pass-1"},
        {"mechanism": "unknown-id", "action": "start_oob"},
        {"mechanism": "MECH", "action": "start_oob"},  # StartOOB on a text mechanism
    ],
)
async def test_bad_advance_bodies_are_400_and_the_login_survives(
    browser: httpx.AsyncClient, sim: Sim, body: dict[str, Any]
) -> None:
    step = await start(browser, "alice@example.com")
    up = mechanism(step, "UP")
    if body.get("mechanism") == "MECH":
        body = {**body, "mechanism": up["id"]}
    _error(await browser.post("/auth/advance", json=body), 400, "invalid_request")
    assert [p for p in _tenant_calls(sim) if p != "/Security/StartAuthentication"] == []
    assert ok(await answer(browser, up, "alice-pass-1"))["status"] == "authenticated"


async def test_answer_on_an_out_of_band_only_mechanism_is_400_and_the_login_survives(
    browser: httpx.AsyncClient, sim: Sim
) -> None:
    step = await start(browser, "phone@example.com")
    pf = mechanism(ok(await answer(browser, mechanism(step, "UP"), "phone-pass-1")), "PF")
    calls = len(_tenant_calls(sim))
    _error(await answer(browser, pf, "123456"), 400, "invalid_request")
    assert len(_tenant_calls(sim)) == calls  # refused before the tenant, which would have ended the login
    _error(await browser.post("/auth/poll", json={}), 400, "invalid_request")  # nothing started yet
    ok(await start_oob(browser, pf))
    sim.approve("phone@example.com")
    assert ok(await browser.post("/auth/poll", json={}))["status"] == "authenticated"


async def test_bad_poll_and_cancel_bodies_are_400(browser: httpx.AsyncClient, sim: Sim) -> None:
    await start(browser, "alice@example.com")
    for path in ("/auth/poll", "/auth/cancel"):
        _error(await browser.post(path, json={"x": 1}), 400, "invalid_request")
        _error(
            await browser.post(path, content=b"{", headers={"Content-Type": "application/json"}),
            400,
            "invalid_request",
        )
    assert (await browser.post("/auth/cancel")).status_code == 204  # no body at all is fine


async def test_wrong_methods_and_paths_are_json_errors(browser: httpx.AsyncClient, sim: Sim) -> None:
    assert (await browser.get("/auth/login")).json()["error"] == "method_not_allowed"
    _error(await browser.get("/auth/nothing-here"), 404, "not_found")


# OpenAPI -----------------------------------------------------------------------------------------------

AUTH_ROUTES: dict[tuple[str, str], tuple[str | frozenset[str] | None, str | None]] = {
    ("/auth/login", "post"): ("LoginRequest", "step"),
    # Two shapes, so the document itself says "an answer, or start_oob, never both".
    ("/auth/advance", "post"): (frozenset({"AnswerRequest", "StartOobRequest"}), "step"),
    ("/auth/poll", "post"): ("EmptyRequest", "step"),
    ("/auth/cancel", "post"): ("EmptyRequest", None),
    ("/auth/session", "get"): (None, "SessionState"),
    ("/auth/logout", "post"): (None, None),
    ("/auth/sessions", "get"): (None, "SessionListItem"),
    ("/auth/sessions/{session_id}", "delete"): (None, None),
    ("/auth/options", "get"): (None, "LoginOptions"),
    # Browser navigations of the OAuth login: they answer redirects.
    ("/auth/oauth/login", "get"): (None, "redirect"),
    ("/auth/oauth/callback", "get"): (None, "redirect"),
}
STEPS = {"ChallengeStep", "PendingStep", "RedirectStep", "AuthenticatedStep"}


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


async def test_openapi_documents_every_auth_route(browser: httpx.AsyncClient) -> None:
    schema = ok(await browser.get("/openapi.json"))
    auth = {
        (path, method) for path, ops in schema["paths"].items() if path.startswith("/auth") for method in ops
    }
    assert auth == set(AUTH_ROUTES)
    for (path, method), (request_model, response_model) in AUTH_ROUTES.items():
        op = schema["paths"][path][method]
        assert op.get("summary"), path
        if request_model:
            wanted = {request_model} if isinstance(request_model, str) else set(request_model)
            assert wanted <= _refs(op["requestBody"]), path
        else:
            assert "requestBody" not in op, path
        if response_model == "redirect":
            assert "302" in op["responses"] and "requestBody" not in op, path
            success = op["responses"]["302"]
        else:
            success = op["responses"]["200" if response_model else "204"]
        if response_model == "redirect":
            assert "content" not in success or not _refs(success["content"]), path
        elif response_model == "step":
            assert _refs(success["content"]) == STEPS, path
        elif response_model:
            assert _refs(success["content"]) == {response_model}, path
        # Errors are documented with their real shape; FastAPI's 422 is never answered, so never documented.
        assert "422" not in op["responses"], path
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert errors, path
        for code, documented in errors.items():
            assert _refs(documented.get("content", {})) == {"ErrorBody"}, (path, code)
    error_body = schema["components"]["schemas"]["ErrorBody"]
    assert {"error", "message"} <= set(error_body["required"])
    assert "retry_after" in error_body["properties"]
    slide = [p for p in schema["paths"]["/auth/session"]["get"].get("parameters", []) if p["name"] == "slide"]
    assert slide and slide[0]["in"] == "query" and slide[0]["schema"]["type"] == "boolean"
