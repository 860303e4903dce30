"""Paths are answered as they are (api.md §2): a trailing-slash variant of any route is ``404 not_found``,
never a redirect built from ``Host``; the static SPA never redirects and never answers the BFF's own paths.
Over real HTTP, with a ``Host`` an attacker chose."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.bff_fixtures import BffFactory
from tests.support.oauth_bff import OAuthBffFactory

pytestmark = pytest.mark.usefixtures("sim")

EVIL = {"Host": "evil.example", "X-CSRF": "1"}

#: (method, path) of every /auth and ops route, each with a trailing slash added.
SLASHED = [
    ("GET", "/auth/oauth/callback/?code=c0de&state=st4te"),
    ("GET", "/auth/oauth/login/"),
    ("GET", "/auth/options/"),
    ("POST", "/auth/login/"),
    ("POST", "/auth/advance/"),
    ("POST", "/auth/poll/"),
    ("POST", "/auth/cancel/"),
    ("GET", "/auth/session/"),
    ("POST", "/auth/logout/"),
    ("GET", "/auth/sessions/"),
    ("DELETE", "/auth/sessions/0123456789abcdef0123456789abcdef/"),
    ("GET", "/healthz/"),
    ("GET", "/readyz/"),
    ("GET", "/metrics/"),
    ("GET", "/docs/"),
    ("GET", "/openapi.json/"),
]


def assert_not_found(answer: httpx.Response) -> None:
    assert answer.status_code == 404, (answer.request.url, answer.status_code, answer.headers)
    assert "location" not in answer.headers
    assert answer.json()["error"] == "not_found"


@pytest.mark.parametrize("spa", [False, True], ids=["routes", "routes+spa"])
@pytest.mark.parametrize(("method", "path"), SLASHED, ids=[f"{m} {p}" for m, p in SLASHED])
async def test_a_trailing_slash_is_not_found_never_a_redirect_to_the_host_header(
    method: str, path: str, spa: bool, make_oauth_bff: OAuthBffFactory, tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>SPA</title>")
    bff = make_oauth_bff(bff_static_dir=tmp_path) if spa else make_oauth_bff()
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        answer = await client.request(method, path, headers=EVIL, json={} if method == "POST" else None)
        assert_not_found(answer)
        # Without the slash the route is there (it answers whatever it answers, never 404).
        plain = await client.request(
            method, path.replace("/?", "?").rstrip("/"), headers=EVIL, json={} if method == "POST" else None
        )
        assert plain.status_code != 404


async def test_the_static_spa_never_redirects_a_folder(make_bff: BffFactory, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>SPA</title>")
    (tmp_path / "help").mkdir()
    (tmp_path / "help" / "index.html").write_text("<!doctype html><title>Help</title>")
    bff = make_bff(bff_static_dir=tmp_path)
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        assert_not_found(await client.get("/help", headers=EVIL))  # Starlette's StaticFiles: 307 to evil
        served = await client.get("/help/", headers=EVIL)
        assert served.status_code == 200 and "<title>Help</title>" in served.text
        assert (await client.get("/", headers=EVIL)).status_code == 200


async def test_the_static_spa_never_answers_the_bffs_own_paths(make_bff: BffFactory, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>SPA</title>")
    for folder in ("auth", ".well-known"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "index.html").write_text("<!doctype html><title>Not ours</title>")
        (tmp_path / folder / "file.txt").write_text("not ours")
    bff = make_bff(bff_static_dir=tmp_path)
    async with httpx.AsyncClient(base_url=bff.url, timeout=15) as client:
        for path in ("/auth/", "/auth/file.txt", "/auth/unknown", "/.well-known/", "/.well-known/file.txt"):
            assert_not_found(await client.get(path))
