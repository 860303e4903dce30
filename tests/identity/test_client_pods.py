"""PodFqdn redirects (at most two hops), TLS to the tenant, and building the client from settings."""

from __future__ import annotations

import json

import pytest

from app.errors import TenantProtocolError, TenantUnavailable
from app.identity.client import MAX_POD_HOPS, TenantClient
from app.identity.models import LoggedIn
from app.settings import Settings
from tests.identity.simulated import PASSWORD, Sim, only
from tests.identity.whoami import whoami


async def _login(client: TenantClient, username: str = "pw@example.com") -> tuple[LoggedIn, str]:
    started = only(await client.start(username))
    outcome, ctx = await client.answer(
        started.context, started.package.challenges[0].mechanisms[0].id, PASSWORD
    )
    assert isinstance(outcome, LoggedIn)
    return outcome, ctx.base_url


def _hosts(sim: Sim, path: str) -> list[str]:
    return [call["headers"]["host"] for call in sim.calls(path)]


async def test_one_pod_hop_then_the_pod_names_itself(client: TenantClient, sim: Sim) -> None:
    sim.config(pod_chain=[sim.host("b")])
    outcome, base_url = await _login(client)
    assert base_url == sim.url("b")
    assert _hosts(sim, "/Security/StartAuthentication") == [sim.host("a"), sim.host("b")]
    # The login continues on the pod that issued the SessionId.
    assert _hosts(sim, "/Security/AdvanceAuthentication") == [sim.host("b")]
    assert outcome.user.tenant == sim.host("b")


async def test_two_pod_hops_are_followed(client: TenantClient, sim: Sim) -> None:
    assert MAX_POD_HOPS == 2
    sim.config(pod_chain=[sim.host("b"), sim.host("c")])
    _, base_url = await _login(client)
    assert base_url == sim.url("c")
    assert _hosts(sim, "/Security/StartAuthentication") == [sim.host("a"), sim.host("b"), sim.host("c")]
    # The same body goes to every pod.
    bodies = [call["json"] for call in sim.calls("/Security/StartAuthentication")]
    assert bodies == [{"User": "pw@example.com", "Version": "1.0"}] * 3


async def test_a_third_pod_hop_is_a_protocol_error(client: TenantClient, sim: Sim) -> None:
    sim.config(pod_chain=[sim.host("b"), sim.host("c"), sim.host("d")])
    with pytest.raises(TenantProtocolError):
        await client.start("pw@example.com")
    assert _hosts(sim, "/Security/StartAuthentication") == [sim.host("a"), sim.host("b"), sim.host("c")]


async def test_a_redirect_to_the_pod_in_use_is_a_protocol_error(client: TenantClient, sim: Sim) -> None:
    body = json.dumps({"success": True, "Result": {"PodFqdn": sim.host("a")}})
    sim.fault(path="/Security/StartAuthentication", status=200, body=body, content_type="application/json")
    with pytest.raises(TenantProtocolError):
        await client.start("pw@example.com")
    assert len(sim.calls("/Security/StartAuthentication")) == 1


async def test_a_pod_redirect_keeps_the_configured_scheme(tls_sim: Sim, tls_files: dict[str, str]) -> None:
    tls_sim.reset()
    # "localhost" and "127.0.0.1" are two hosts to the client, one TLS server to the simulator.
    port = tls_sim.servers["a"].port
    tls_sim.config(pod_chain=[f"localhost:{port}"])
    client = TenantClient(f"https://127.0.0.1:{port}", verify=tls_files["ca"], timeout=2)
    try:
        _, base_url = await _login(client)
    finally:
        await client.aclose()
    assert base_url == f"https://localhost:{port}"


async def test_a_full_login_over_tls(tls_sim: Sim, tls_files: dict[str, str]) -> None:
    tls_sim.reset()
    client = TenantClient(tls_sim.url(), verify=tls_files["ca"], timeout=2)
    try:
        outcome, _ = await _login(client)
        assert (await whoami(client, outcome.token))["username"] == "pw@example.com"
        assert await client.logout(outcome.token) is True
    finally:
        await client.aclose()


async def test_an_untrusted_tenant_certificate_is_unavailable(tls_sim: Sim) -> None:
    client = TenantClient(tls_sim.url(), timeout=2)  # the system store does not know the test CA
    try:
        with pytest.raises(TenantUnavailable):
            await client.start("pw@example.com")
    finally:
        await client.aclose()


async def test_from_settings_uses_url_tenant_id_timeout_and_ca_bundle(
    tls_sim: Sim, tls_files: dict[str, str]
) -> None:
    tls_sim.reset()
    settings = Settings(
        cyberark_tenant_url=tls_sim.url(),
        cyberark_tenant_id="XYZ9876",
        cyberark_timeout=3.5,
        cyberark_ca_bundle=tls_files["ca"],
    )
    client = TenantClient.from_settings(settings)
    try:
        assert client.base_url == tls_sim.url()
        assert client._http.timeout.read == 3.5
        started = only(await client.start("pw@example.com"))
    finally:
        await client.aclose()
    (call,) = tls_sim.calls("/Security/StartAuthentication")
    assert call["json"]["TenantId"] == "XYZ9876"
    assert started.context.tenant_id == "ABC1234"  # what the tenant says it is wins for the rest of the login


def test_a_base_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError):
        TenantClient("ftp://tenant.example")
