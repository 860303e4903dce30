"""CsrfOriginMiddleware in front of a tiny Starlette app, under real uvicorn, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.security.csrf import CsrfOriginMiddleware
from tests.support.asgi_server import ServerThread

ALLOWED = frozenset({"https://app.example", "http://localhost:5173"})


class Inner:
    """The wrapped app; counts the requests that got through the guard."""

    def __init__(self) -> None:
        self.calls = 0

        async def echo(request: Request) -> JSONResponse:
            self.calls += 1
            body = await request.body()
            return JSONResponse({"path": request.url.path, "body": body.decode()})

        methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]
        self.app = Starlette(
            routes=[
                Route("/auth/login", echo, methods=methods),
                Route("/api/{rest:path}", echo, methods=methods),
                Route("/healthz", echo, methods=methods),
                Route("/other", echo, methods=methods),
            ]
        )


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[ServerThread, Inner]]:
    inner = Inner()
    with ServerThread(CsrfOriginMiddleware(inner.app, allowed_origins=ALLOWED)) as server:
        yield server, inner


@pytest.fixture
def client(served: tuple[ServerThread, Inner]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[0].url, timeout=5) as http:
        yield http


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert set(body) == {"error", "message"}


def test_post_without_csrf_header_is_refused_before_the_app(
    client: httpx.Client, served: tuple[ServerThread, Inner]
) -> None:
    before = served[1].calls
    _refused(client.post("/auth/login", json={"username": "u"}), "csrf")
    _refused(client.delete("/api/UserMgmt/x"), "csrf")
    _refused(client.post("/auth/login", headers={"X-CSRF": "0"}), "csrf")
    assert served[1].calls == before


def test_post_with_csrf_header_reaches_the_app_with_its_body(client: httpx.Client) -> None:
    response = client.post("/auth/login", headers={"X-CSRF": "1"}, content=b'{"username":"u"}')
    assert response.status_code == 200
    assert response.json() == {"path": "/auth/login", "body": '{"username":"u"}'}


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_safe_methods_pass_without_the_header(client: httpx.Client, method: str) -> None:
    assert client.request(method, "/api/UserMgmt/x").status_code == 200


def test_unguarded_paths_are_left_alone(client: httpx.Client) -> None:
    assert client.post("/other").status_code == 200
    assert client.post("/healthz", headers={"Origin": "https://evil.example"}).status_code == 200


def test_guard_is_not_fooled_by_path_case_or_extra_slashes(client: httpx.Client) -> None:
    # The router would 404 these; the guard answers first either way, so nothing unguarded slips past.
    _refused(client.post("/API/x"), "csrf")
    doubled = httpx.URL(str(client.base_url)).copy_with(
        raw_path=b"//api/x"
    )  # httpx would read //api as a host
    _refused(client.post(doubled), "csrf")


def test_foreign_origin_is_refused_even_with_the_csrf_header(
    client: httpx.Client, served: tuple[ServerThread, Inner]
) -> None:
    before = served[1].calls
    _refused(client.post("/api/x", headers={"X-CSRF": "1", "Origin": "https://evil.example"}), "origin")
    _refused(client.get("/api/x", headers={"Origin": "https://evil.example"}), "origin")
    _refused(client.post("/auth/login", headers={"X-CSRF": "1", "Origin": "null"}), "origin")
    assert served[1].calls == before


def test_origin_is_checked_before_csrf(client: httpx.Client) -> None:
    _refused(client.post("/api/x", headers={"Origin": "https://evil.example"}), "origin")


def test_own_origin_from_the_host_header_passes(
    client: httpx.Client, served: tuple[ServerThread, Inner]
) -> None:
    own = served[0].url  # http://127.0.0.1:PORT, the same as the Host header httpx sends
    assert client.post("/api/x", headers={"X-CSRF": "1", "Origin": own}).status_code == 200
    assert client.post("/api/x", headers={"X-CSRF": "1", "Origin": own + "/"}).status_code == 200


def test_a_forged_host_header_makes_that_host_the_own_origin_and_no_other(client: httpx.Client) -> None:
    # A browser cannot forge Host; this documents that "own" means exactly scheme://Host of the request.
    headers = {"X-CSRF": "1", "Host": "bff.example", "Origin": "http://bff.example"}
    assert client.post("/api/x", headers=headers).status_code == 200
    _refused(client.post("/api/x", headers={**headers, "Origin": "https://bff.example"}), "origin")


def test_listed_origins_pass_in_equivalent_spellings(client: httpx.Client) -> None:
    for origin in ["https://app.example", "https://APP.example:443", "http://localhost:5173"]:
        response = client.post("/api/x", headers={"X-CSRF": "1", "Origin": origin})
        assert response.status_code == 200, origin


def test_two_origin_headers_are_refused(client: httpx.Client) -> None:
    headers = [(b"x-csrf", b"1"), (b"origin", b"https://app.example"), (b"origin", b"https://app.example")]
    _refused(client.post("/api/x", headers=headers), "origin")


def test_two_csrf_headers_are_refused(client: httpx.Client) -> None:
    _refused(client.post("/api/x", headers=[(b"x-csrf", b"1"), (b"x-csrf", b"1")]), "csrf")
