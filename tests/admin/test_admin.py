"""``python -m app.admin sessions list|revoke --user NAME``: a real process, a real Redis, two BFFs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, BffFactory, Sim
from tests.support.bff_login import login_password, ok, poll
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def admin(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it: its own process, configured by the environment only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BFF_", "CYBERARK_"))}
    clean.update(
        {"PYTHONPATH": str(ROOT), "BFF_SESSION_SECRETS": SECRET, "BFF_COOKIE_SECURE": "false", **env}
    )
    return subprocess.run(
        [sys.executable, "-m", "app.admin", *args],
        env=clean,
        cwd=tmp_path,  # an empty folder: no .env
        capture_output=True,
        text=True,
        timeout=60,
    )


def client(server: ServerThread) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, headers={"X-CSRF": "1"}, timeout=15)


def audit_lines(stderr: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


async def test_revoke_ends_every_session_of_the_user_on_both_bffs(
    make_bff: BffFactory, sim: Sim, redis_url: str, tmp_path: Path
) -> None:
    one, two = make_bff(), make_bff()
    async with (
        client(one) as laptop,
        client(two) as phone,
        client(two) as other,
        client(one) as laptop_on_two,
    ):
        await login_password(laptop, "alice@example.com")
        await login_password(phone, "ALICE@example.com", "alice-pass-1")  # typed in another case
        bob = await login_password(other, "apps@example.com")
        assert bob["user"]["username"] == "apps@example.com"

        listed = admin(tmp_path, "sessions", "list", "--user", "Alice@Example.COM", BFF_REDIS_URL=redis_url)
        assert listed.returncode == 0, listed.stderr
        *lines, count = listed.stdout.splitlines()
        assert count == "2" and len(lines) == 2
        ids = {item["id"] for item in (await laptop.get("/auth/sessions")).json()}
        assert {json.loads(line)["id"] for line in lines} == ids

        revoked = admin(
            tmp_path, "sessions", "revoke", "--user", "alice@EXAMPLE.com", BFF_REDIS_URL=redis_url
        )
        assert revoked.returncode == 0, revoked.stderr
        assert revoked.stdout == "2\n"
        events = [
            line
            for line in audit_lines(revoked.stderr)
            if line.get("event") == "sessions_revoked_by_operator"
        ]
        assert len(events) == 1 and events[0]["count"] == 2
        assert "alice" not in revoked.stderr.lower()

        # Gone on both processes, at the next request; the other user is untouched.
        laptop_on_two.cookies.set("bff", laptop.cookies["bff"])
        for browser in (laptop, phone, laptop_on_two):
            assert (await browser.get("/auth/session")).status_code == 401
        assert (await phone.post("/api/UPRest/GetUPData", json={})).status_code == 401
        assert ok(await other.get("/auth/session"))["user"]["username"] == "apps@example.com"
        again = admin(tmp_path, "sessions", "revoke", "--user", "alice@example.com", BFF_REDIS_URL=redis_url)
        assert again.stdout == "0\n"


async def test_the_tenant_user_id_names_the_user_too(
    make_bff: BffFactory, sim: Sim, redis_url: str, tmp_path: Path
) -> None:
    async with client(make_bff()) as browser:
        user_id = (await login_password(browser, "alice@example.com"))["user"]["id"]
        revoked = admin(tmp_path, "sessions", "revoke", "--user", user_id, BFF_REDIS_URL=redis_url)
        assert revoked.returncode == 0 and revoked.stdout.splitlines()[-1] == "1"
        assert (await browser.get("/auth/session")).status_code == 401


async def test_a_federated_user_is_found_by_the_name_typed(
    make_bff: BffFactory, sim: Sim, redis_url: str, tmp_path: Path
) -> None:
    async with client(make_bff()) as browser:
        ok(await browser.post("/auth/login", json={"username": "Fed@Partner.example"}))
        sim.post("/_sim/idp/fed@partner.example/complete")
        assert ok(await poll(browser))["status"] == "authenticated"
        revoked = admin(
            tmp_path, "sessions", "revoke", "--user", "fed@partner.EXAMPLE", BFF_REDIS_URL=redis_url
        )
        assert revoked.stdout == "1\n", revoked.stderr
        assert (await browser.get("/auth/session")).status_code == 401


async def test_revoke_during_a_secret_rotation_reaches_sessions_made_under_the_old_secret(
    make_bff: BffFactory, sim: Sim, redis_url: str, tmp_path: Path
) -> None:
    # The session was made while the old secret was the only one; the operator's configuration already
    # lists the new one first (BFF_SESSION_SECRETS=new,old): the name must still lead to the session.
    new_secret = "rotated-secret-" + "n" * 32
    async with client(make_bff()) as browser:
        await login_password(browser, "alice@example.com")
        rotated = {"BFF_REDIS_URL": redis_url, "BFF_SESSION_SECRETS": f"{new_secret},{SECRET}"}
        listed = admin(tmp_path, "sessions", "list", "--user", "ALICE@example.com", **rotated)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines()[-1] == "1"
        revoked = admin(tmp_path, "sessions", "revoke", "--user", "alice@example.com", **rotated)
        assert (revoked.returncode, revoked.stdout) == (0, "1\n"), revoked.stderr
        assert (await browser.get("/auth/session")).status_code == 401


def test_an_unknown_user_is_zero(redis_url: str, tmp_path: Path) -> None:
    for action in ("list", "revoke"):
        result = admin(tmp_path, "sessions", action, "--user", "nobody@example.com", BFF_REDIS_URL=redis_url)
        assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr


def test_a_store_that_is_down_is_one_line_and_exit_1(tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    result = admin(tmp_path, "sessions", "revoke", "--user", "alice@example.com", BFF_REDIS_URL=down)
    assert result.returncode == 1 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(errors) == 1 and errors[0].startswith("app.admin: the session store is unavailable")
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


def test_without_redis_or_secrets_it_says_why_and_exits_2(redis_url: str, tmp_path: Path) -> None:
    no_store = admin(tmp_path, "sessions", "list", "--user", "a")
    assert no_store.returncode == 2 and "BFF_REDIS_URL" in no_store.stderr
    no_secret = admin(
        tmp_path, "sessions", "list", "--user", "a", BFF_REDIS_URL=redis_url, BFF_SESSION_SECRETS=""
    )
    assert no_secret.returncode == 2 and "BFF_SESSION_SECRETS" in no_secret.stderr
    usage = admin(tmp_path, "sessions", "revoke", BFF_REDIS_URL=redis_url)
    assert usage.returncode == 2 and "--user" in usage.stderr
