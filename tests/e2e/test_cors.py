"""CORS for the listed origins over real HTTP (api.md §2, "Another origin of the same site").

Preflights answered without a session or the tenant; every answer to a listed origin, the guards' and the
proxy's refusals included, carries the origin, credentials, ``Vary`` and the exposed headers; nothing for
any other origin, and never ``*``. The browser's own verdict is in tests/browser/test_split_origin.py.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.support.bff_fixtures import BffFactory, Sim
from tests.support.ports import free_port

SPA = "https://app.example.com"
OTHER = "https://evil.example.com"

pytestmark = pytest.mark.usefixtures("sim")


def cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def assert_granted(response: httpx.Response, origin: str = SPA) -> None:
    """The headers every answer to a listed origin carries."""
    assert response.headers["access-control-allow-origin"] == origin, dict(response.headers)
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers["vary"].lower()
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"retry-after", "x-request-id"} <= exposed
    assert response.headers.get_list("access-control-allow-origin") == [origin]  # one, never "*"


@pytest.fixture
def split_bff(make_bff: BffFactory) -> str:
    return make_bff(bff_allowed_origins=SPA, bff_proxy_allow="POST /UPRest/GetUPData").url


async def test_a_listed_origins_preflight_is_granted_without_a_session_or_the_tenant(
    split_bff: str, sim: Sim
) -> None:
    sim.http.delete("/_sim/calls")
    async with httpx.AsyncClient(base_url=split_bff, timeout=15) as client:
        for path, method in (
            ("/auth/login", "POST"),
            ("/api/UPRest/GetUPData", "POST"),
            ("/auth/sessions/x", "DELETE"),
        ):
            answer = await client.options(
                path,
                headers={
                    "Origin": SPA,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "content-type,x-csrf,x-request-id,accept-language",
                },
            )
            assert answer.status_code == 204, (path, answer.status_code, answer.text)
            assert_granted(answer)
            assert method in {m.strip() for m in answer.headers["access-control-allow-methods"].split(",")}
            allowed = {h.strip().lower() for h in answer.headers["access-control-allow-headers"].split(",")}
            assert {"x-csrf", "content-type", "x-request-id", "accept-language", "accept"} <= allowed
            assert int(answer.headers["access-control-max-age"]) >= 600
            assert "set-cookie" not in answer.headers
    assert sim.calls() == []  # no tenant call


async def test_a_preflight_from_an_unlisted_origin_is_403_origin_without_cors_headers(split_bff: str) -> None:
    async with httpx.AsyncClient(base_url=split_bff, timeout=15) as client:
        for origin in (OTHER, "null", "https://app.example.com.evil.example", "http://app.example.com"):
            for path in ("/auth/login", "/api/UPRest/GetUPData"):
                answer = await client.options(
                    path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
                )
                assert answer.status_code == 403, (origin, path)
                assert answer.json()["error"] == "origin"
                assert cors_headers(answer) == {}, (origin, path)


async def test_without_listed_origins_a_foreign_preflight_is_still_403_origin(make_bff: BffFactory) -> None:
    bff = make_bff()
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        answer = await client.options(
            "/api/UPRest/GetUPData", headers={"Origin": SPA, "Access-Control-Request-Method": "POST"}
        )
    assert answer.status_code == 403 and answer.json()["error"] == "origin"
    assert cors_headers(answer) == {}


async def test_every_answer_to_a_listed_origin_carries_the_grant_errors_included(split_bff: str) -> None:
    async with httpx.AsyncClient(base_url=split_bff, timeout=15, headers={"Origin": SPA}) as client:
        answers = {
            "options 200": await client.get("/auth/options"),
            "session 401": await client.get("/auth/session"),
            "csrf 403": await client.post("/auth/login", json={"username": "alice@example.com"}),
            "api 401": await client.post("/api/UPRest/GetUPData", json={}, headers={"X-CSRF": "1"}),
            "api not_allowed 403": await client.post("/api/Other/Thing", json={}, headers={"X-CSRF": "1"}),
            "not_found 404": await client.get("/auth/nothing-here"),
            "invalid 400": await client.post("/auth/login", content=b"{", headers={"X-CSRF": "1"}),
            "headers 431": await client.get("/auth/session", headers={"X-Big": "x" * 20_000}),
            "api headers 431": await client.post("/api/UPRest/GetUPData", headers={"X-Big": "x" * 20_000}),
            "healthz 200": await client.get("/healthz"),
        }
    expected = {"options 200": 200, "session 401": 401, "csrf 403": 403, "api 401": 401}
    expected |= {"api not_allowed 403": 403, "not_found 404": 404, "invalid 400": 400, "headers 431": 431}
    expected |= {"api headers 431": 431, "healthz 200": 200}
    assert {name: a.status_code for name, a in answers.items()} == expected
    for name, answer in answers.items():
        assert_granted(answer), name


async def test_a_429_to_a_listed_origin_exposes_retry_after(make_bff: BffFactory) -> None:
    bff = make_bff(bff_allowed_origins=SPA, bff_login_rate_limit="1/60,100/60")
    headers = {"Origin": SPA, "X-CSRF": "1"}
    async with httpx.AsyncClient(base_url=bff.url, timeout=15, headers=headers) as client:
        await client.post("/auth/login", json={"username": "alice@example.com"})
        limited = await client.post("/auth/login", json={"username": "alice@example.com"})
    assert limited.status_code == 429 and "retry-after" in limited.headers
    assert_granted(limited)


async def test_a_503_to_a_listed_origin_carries_the_grant(make_bff: BffFactory) -> None:
    bff = make_bff(bff_allowed_origins=SPA, bff_redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with httpx.AsyncClient(
        base_url=bff.url, timeout=15, headers={"Origin": SPA, "X-CSRF": "1"}
    ) as client:
        down = await client.post("/auth/login", json={"username": "alice@example.com"})
    assert down.status_code == 503 and down.json()["error"] == "store_unavailable"
    assert_granted(down)


async def test_no_answer_carries_cors_headers_for_an_unlisted_origin(split_bff: str) -> None:
    async with httpx.AsyncClient(base_url=split_bff, timeout=15) as client:
        for origin in (None, OTHER, "null", "http://app.example.com", "https://app.example.com:444"):
            headers = {} if origin is None else {"Origin": origin}
            for answer in (
                await client.get("/auth/options", headers=headers),
                await client.get("/auth/session", headers=headers),
                await client.get("/healthz", headers=headers),
                await client.post("/api/UPRest/GetUPData", headers={**headers, "X-CSRF": "1"}),
            ):
                assert cors_headers(answer) == {}, (origin, answer.request.url)
        twice = await client.get("/auth/options", headers=[("Origin", SPA), ("Origin", SPA)])
        assert cors_headers(twice) == {}


async def test_the_origin_is_compared_as_scheme_host_and_port(make_bff: BffFactory) -> None:
    bff = make_bff(bff_allowed_origins="https://App.Example.com:443, http://127.0.0.1:5173")
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        assert_granted(await client.get("/auth/options", headers={"Origin": SPA}))
        local = await client.get("/auth/options", headers={"Origin": "http://127.0.0.1:5173"})
        assert_granted(local, "http://127.0.0.1:5173")
        for near in ("http://127.0.0.1:5174", "http://localhost:5173", "https://127.0.0.1:5173"):
            assert cors_headers(await client.get("/auth/options", headers={"Origin": near})) == {}, near


def test_a_listed_origin_of_another_site_is_a_start_up_warning(
    caplog: pytest.LogCaptureFixture, sim_server: object, redis_url: str
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bff_public_url="https://bff.example.com",
        bff_allowed_origins="https://app.example.com, https://app.other.example",
        bff_cookie_secure=False,
    )
    with caplog.at_level(logging.WARNING, logger="bff"):
        create_app(settings)
    warned = [r for r in caplog.records if "another site" in r.getMessage()]
    assert [getattr(r, "origin", None) for r in warned] == ["https://app.other.example"]
