"""Sessions keep to their pod: every bearer call goes to the tenant host that issued the token (api.md §2)."""

from __future__ import annotations

from typing import Any

import httpx

from app.sessions.service import RECORD_KEYS, SessionService
from app.settings import Settings
from app.store.factory import open_store
from tests.e2e.test_login_flow import pod  # noqa: F401 - the fixture
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import SECRET, Sim
from tests.support.bff_login import login_password, ok, poll


def hosts(sim: Sim, path: str) -> list[str]:
    return [c["headers"]["host"] for c in sim.calls() if c["path"] == path]


async def test_a_pod_users_proxied_calls_and_logout_go_to_the_pod(
    browser: httpx.AsyncClient,
    sim: Sim,
    sim_server: ServerThread,
    pod: ServerThread,  # noqa: F811
) -> None:
    await login_password(browser, "alice@example.com")
    for _ in range(2):
        assert ok(await browser.post("/api/UPRest/GetUPData", json={}))["success"] is True
    assert (await browser.post("/auth/logout")).status_code == 204
    assert hosts(sim, "/Security/StartAuthentication") == [sim_server.host, pod.host]
    assert hosts(sim, "/UPRest/GetUPData") == [pod.host, pod.host]
    assert hosts(sim, "/Security/Logout") == [pod.host]
    # The logout reached the tenant with the session's bearer: the token is over.
    assert sim.http.get("/_sim/state").json()["tokens"] == 0


async def test_a_federated_pod_user_keeps_to_the_pod(
    browser: httpx.AsyncClient,
    sim: Sim,
    pod: ServerThread,  # noqa: F811
) -> None:
    step = ok(await browser.post("/auth/login", json={"username": "fed@partner.example"}))
    assert step["url"].startswith(f"http://{pod.host}/u/")
    sim.post("/_sim/idp/fed@partner.example/complete")
    assert ok(await poll(browser))["status"] == "authenticated"
    ok(await browser.post("/api/UPRest/GetUPData", json={}))
    assert (await browser.post("/auth/logout")).status_code == 204
    for path in ("/Security/OobAuthStatus", "/Security/Whoami", "/UPRest/GetUPData", "/Security/Logout"):
        assert hosts(sim, path) == [pod.host], path


async def test_a_record_written_before_keeps_using_the_configured_tenant(
    browser: httpx.AsyncClient,
    sim: Sim,
    sim_server: ServerThread,
    redis_url: str,
    pod: ServerThread,  # noqa: F811
) -> None:
    # A tenant token (the simulator's state is shared by its hosts), and a session record as the BFF wrote
    # them before it kept a host: no tenant_url, so no "host" key in the sealed record.
    async with httpx.AsyncClient(base_url=pod.url, timeout=10) as tenant:
        started = (
            await tenant.post("/Security/StartAuthentication", json={"User": "alice@example.com"})
        ).json()
        result = started["Result"]
        answered = await tenant.post(
            "/Security/AdvanceAuthentication",
            json={
                "SessionId": result["SessionId"],
                "MechanismId": result["Challenges"][0]["Mechanisms"][0]["MechanismId"],
                "Action": "Answer",
                "Answer": "alice-pass-1",
            },
        )
    token = answered.cookies[".ASPXAUTH"]
    settings = Settings(_env_file=None, bff_redis_url=redis_url, bff_session_secrets=SECRET)  # type: ignore[call-arg]
    store = open_store(settings, cached=RECORD_KEYS)
    try:
        service = SessionService.from_settings(store, settings)
        user: dict[str, Any] = {"id": "u-old", "username": "alice@example.com"}
        cookie, session = await service.create(bearer=token, user=user, user_agent="old", ip="127.0.0.1")
        assert session.tenant_url is None
    finally:
        await store.aclose()
    sim.http.delete("/_sim/calls")

    browser.cookies.set("bff", cookie)
    assert ok(await browser.get("/auth/session"))["user"]["username"] == "alice@example.com"
    ok(await browser.post("/api/UPRest/GetUPData", json={}))
    assert (await browser.post("/auth/logout")).status_code == 204
    assert hosts(sim, "/UPRest/GetUPData") == [sim_server.host]
    assert hosts(sim, "/Security/Logout") == [sim_server.host]
