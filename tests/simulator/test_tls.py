"""Served over https, the simulator marks its cookies Secure."""

from __future__ import annotations

import ssl

import httpx

from simulator.app import create_app
from tests.simulator.helpers import HEADERS, mechanism, set_cookie
from tests.support.asgi_server import ServerThread


async def test_https_login_sets_secure_cookies(tls_files: dict[str, str]) -> None:
    with ServerThread(create_app(), ssl_certfile=tls_files["cert"], ssl_keyfile=tls_files["key"]) as server:
        assert server.url.startswith("https://")
        async with httpx.AsyncClient(
            base_url=server.url, verify=ssl.create_default_context(cafile=tls_files["ca"]), timeout=10
        ) as c:
            start = await c.post(
                "/Security/StartAuthentication", json={"User": "alice@example.com"}, headers=HEADERS
            )
            assert "Secure" in set_cookie(start, "SimLB")
            package = start.json()
            body = {
                "SessionId": package["Result"]["SessionId"],
                "MechanismId": mechanism(package, 0, "UP")["MechanismId"],
                "Action": "Answer",
                "Answer": "alice-pass-1",
            }
            done = await c.post("/Security/AdvanceAuthentication", json=body, headers=HEADERS)
            assert done.json()["Result"]["Summary"] == "LoginSuccess"
            for name in (".ASPXAUTH", "CCSID"):
                header = set_cookie(done, name)
                assert "Secure" in header and "HttpOnly" in header
            token = c.cookies[".ASPXAUTH"]
            who = await c.post(
                "/Security/Whoami", json={}, headers={**HEADERS, "Authorization": f"Bearer {token}"}
            )
            assert who.json()["Result"]["User"] == "alice@example.com"
