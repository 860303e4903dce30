"""``app.admin.main`` in this process (as the subprocess tests run it): list, revoke, refusals."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.admin import main
from app.sessions.service import SessionService
from app.settings import Settings
from app.store.factory import open_store
from tests.support.bff_fixtures import SECRET
from tests.support.ports import free_port

JANE = {"id": "uid-jane-1", "username": "jane@corp.example", "display_name": "Jane"}


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """main() sets up JSON logging on stderr, here capsys's stream, closed after the test: undo it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str) -> str:
    """The server's configuration in the environment, and a working folder without a ``.env``."""
    for name in ("BFF_REDIS_URL", "BFF_SESSION_SECRETS", "BFF_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BFF_REDIS_URL", redis_url)
    monkeypatch.setenv("BFF_SESSION_SECRETS", SECRET)
    monkeypatch.setenv("BFF_COOKIE_SECURE", "false")
    return redis_url


def _create(redis_url: str, count: int) -> None:
    async def create() -> None:
        settings = Settings(_env_file=None, bff_redis_url=redis_url, bff_session_secrets=SECRET)  # type: ignore[call-arg]
        store = open_store(settings)
        try:
            sessions = SessionService.from_settings(store, settings)
            for n in range(count):
                await sessions.create(bearer=f"b{n}", user=JANE, user_agent=f"UA {n}", ip="10.0.0.1")
        finally:
            await store.aclose()

    asyncio.run(create())


def test_list_then_revoke_by_name_in_any_case(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    _create(env, 2)
    assert main(["sessions", "list", "--user", "JANE@corp.example"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "2"
    listed = [json.loads(line) for line in lines[:-1]]
    assert {entry["user_agent"] for entry in listed} == {"UA 0", "UA 1"}
    assert set(listed[0]) == {"id", "created_at", "last_seen_at", "user_agent", "ip"}
    assert main(["sessions", "revoke", "--user", "jane@corp.example"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "2"
    assert main(["sessions", "list", "--user", JANE["id"]]) == 0
    assert capsys.readouterr().out.splitlines() == ["0"]


def test_a_store_that_is_down_is_one_line_and_status_1(
    env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BFF_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["sessions", "revoke", "--user", "jane@corp.example"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("app.admin: the session store is unavailable")


@pytest.mark.parametrize(
    ("unset", "user", "says"),
    [
        ("BFF_REDIS_URL", "jane", "BFF_REDIS_URL is not set"),
        ("BFF_SESSION_SECRETS", "jane", "BFF_SESSION_SECRETS is not set"),
        (None, "   ", "--user: a user name or id is required"),
    ],
)
def test_what_cannot_reach_the_servers_sessions_is_status_2(
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unset: str | None,
    user: str,
    says: str,
) -> None:
    if unset is not None:
        monkeypatch.delenv(unset)
    assert main(["sessions", "list", "--user", user]) == 2
    assert says in capsys.readouterr().err
