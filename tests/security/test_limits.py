"""Request limits over real HTTP: 431 for oversized headers, 413 for an oversized JSON body, never a 500."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.middleware import Middleware

from app.main import create_app
from app.security.limits import RequestLimitsMiddleware
from app.settings import Settings
from tests.support.asgi_server import ServerThread


@pytest.fixture(scope="module")
def bff() -> Iterator[ServerThread]:
    settings = Settings(_env_file=None, bff_cookie_secure=False)  # type: ignore[call-arg]
    with ServerThread(create_app(settings)) as server:
        yield server


def test_oversized_headers_get_431_in_the_error_shape(bff: ServerThread) -> None:
    response = httpx.get(bff.url + "/healthz", headers={"X-Padding": "a" * 17_000})
    assert response.status_code == 431
    assert response.json()["error"] == "headers_too_large"


def test_headers_under_the_budget_pass(bff: ServerThread) -> None:
    assert httpx.get(bff.url + "/healthz", headers={"X-Padding": "a" * 8_000}).status_code == 200


def test_an_oversized_login_body_gets_413_before_parsing(bff: ServerThread) -> None:
    body = b'{"username": "' + b"a" * 70_000 + b'"}'
    response = httpx.post(
        bff.url + "/auth/login", content=body, headers={"X-CSRF": "1", "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_an_endless_chunked_body_is_cut_at_the_limit(bff: ServerThread) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "'
        for _ in range(200):  # 1.6 MB if it were all read
            yield b"a" * 8192

    response = httpx.post(
        bff.url + "/auth/login", content=chunks(), headers={"X-CSRF": "1", "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_deeply_nested_json_is_a_400_not_a_500(bff: ServerThread) -> None:
    body = b'{"username": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"
    response = httpx.post(
        bff.url + "/auth/login", content=body, headers={"X-CSRF": "1", "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_small_body_still_reaches_the_route_intact(bff: ServerThread) -> None:
    # The replayed body is the one sent: it parses, and the route goes on to call the tenant (none listens on
    # the default development URL here, hence 502).
    response = httpx.post(bff.url + "/auth/login", json={"username": "jane"}, headers={"X-CSRF": "1"})
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unavailable"


def test_a_header_block_beyond_the_server_limit_never_gets_a_500(bff: ServerThread) -> None:
    # Beyond uvicorn's own parser limit the connection may be refused outright; it must never be a 5xx.
    with socket.create_connection(("127.0.0.1", bff.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"b" * 200_000 + b"\r\n\r\n")
        reply = sock.recv(100)
    assert not reply.startswith(b"HTTP/1.1 5")


def test_a_body_that_never_arrives_is_let_go_with_408() -> None:
    settings = Settings(_env_file=None, bff_cookie_secure=False)  # type: ignore[call-arg]
    app = create_app(settings)
    # Rebuild the middleware stack with a short timeout: the production default is 10 s.
    app.user_middleware = [
        m if m.cls is not RequestLimitsMiddleware else Middleware(RequestLimitsMiddleware, body_timeout=0.5)
        for m in app.user_middleware
    ]
    with ServerThread(app) as server, socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"DELETE /auth/sessions/x HTTP/1.1\r\nHost: x\r\nX-CSRF: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        reply = sock.recv(1000)
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert b'"error":"request_timeout"' in reply


def test_error_answers_from_the_middleware_are_marked_no_store(bff: ServerThread) -> None:
    response = httpx.get(bff.url + "/healthz", headers={"X-Padding": "a" * 17_000})
    assert response.headers["cache-control"] == "no-store"
    routed = httpx.get(bff.url + "/auth/session")  # answered by the FastAPI handlers
    assert routed.status_code == 401 and routed.headers["cache-control"] == "no-store"
    # Starlette's routing errors too, in the one shape, keeping their status and Allow header.
    missing = httpx.get(bff.url + "/no-such-route")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"
    assert missing.json() == {"error": "not_found", "message": "Not found."}
    wrong_method = httpx.get(bff.url + "/auth/login")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert wrong_method.headers["cache-control"] == "no-store"
    assert wrong_method.json()["error"] == "method_not_allowed"
