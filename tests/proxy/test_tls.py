"""The proxy's data plane to a tenant served over TLS: the CA bundle's context, verified, answers intact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from simulator.app import create_app as create_simulator
from tests.proxy.conftest import SIM_RULES, client_for, login, seeded_cookie
from tests.support.asgi_server import ServerThread
from tests.support.bff_fixtures import BffFactory


@pytest.fixture(scope="module")
def tls_tenant(tls_files: dict[str, str]) -> Iterator[ServerThread]:
    with ServerThread(
        create_simulator(), ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]
    ) as server:
        yield server


async def test_a_login_and_a_proxied_call_to_a_tls_tenant(
    make_bff: BffFactory, tls_tenant: ServerThread, tls_files: dict[str, str]
) -> None:
    assert tls_tenant.url.startswith("https://")
    bff = make_bff(
        cyberark_tenant_url=tls_tenant.url, cyberark_ca_bundle=tls_files["ca"], bff_proxy_allow=SIM_RULES
    )
    async with client_for(bff) as browser:
        await login(browser)
        for _ in range(3):  # the second and third on the pooled TLS connection
            response = await browser.post("/api/UPRest/GetUPData", json={"force": False})
            assert response.status_code == 200, response.text
            assert response.json()["success"] is True
        echo = await browser.get("/api/Sim/Echo", params={"q": "1"})
        assert echo.status_code == 200 and echo.json()["Result"]["headers"]["authorization"].startswith(
            "Bearer "
        )


async def test_a_tls_tenant_whose_certificate_does_not_verify_is_502(
    make_bff: BffFactory, tls_tenant: ServerThread, redis_url: str
) -> None:
    # No CA bundle: the system store does not know the test CA.
    bff = make_bff(cyberark_tenant_url=tls_tenant.url, bff_proxy_allow=SIM_RULES)
    async with client_for(bff, await seeded_cookie(redis_url)) as browser:
        response = await browser.post("/api/UPRest/GetUPData", json={})
    assert response.status_code == 502 and response.json()["error"] == "upstream_unavailable"
